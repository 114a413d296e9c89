//! The clinician review page (`clients/web/`), embedded in the binary at build time and served
//! by `skriva serve` at `/` and `/assets/…`, so running it needs no Node and no files beside
//! the binary. Every response carries a strict Content-Security-Policy: the page may talk only
//! to the server that served it.

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// Scripts, styles, images and the audio worklet come from this server only; connections go
/// to it over HTTP and WebSocket; no plug-ins, no framing, no form posts elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; font-src 'self'; connect-src 'self' ws: wss:; \
     media-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// One embedded file.
#[derive(Debug)]
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

const INDEX: Asset = Asset {
    path: "/",
    content_type: "text/html; charset=utf-8",
    body: include_str!("../web/index.html"),
};

const ASSETS: &[Asset] = &[
    Asset {
        path: "/assets/app.js",
        content_type: JS,
        body: include_str!("../web/app.js"),
    },
    Asset {
        path: "/assets/api.js",
        content_type: JS,
        body: include_str!("../web/api.js"),
    },
    Asset {
        path: "/assets/live.js",
        content_type: JS,
        body: include_str!("../web/live.js"),
    },
    Asset {
        path: "/assets/editor.js",
        content_type: JS,
        body: include_str!("../web/editor.js"),
    },
    Asset {
        path: "/assets/diff.js",
        content_type: JS,
        body: include_str!("../web/diff.js"),
    },
    Asset {
        path: "/assets/capture-worklet.js",
        content_type: JS,
        body: include_str!("../web/capture-worklet.js"),
    },
    Asset {
        path: "/assets/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../web/style.css"),
    },
    Asset {
        path: "/assets/icon.svg",
        content_type: "image/svg+xml",
        body: include_str!("../web/icon.svg"),
    },
];

/// The page's routes, to merge into the server's router.
pub fn routes() -> Router {
    let mut router = Router::new().route(INDEX.path, get(|| async { respond(&INDEX) }));
    for asset in ASSETS {
        router = router.route(asset.path, get(move || async move { respond(asset) }));
    }
    router
}

fn respond(asset: &'static Asset) -> Response {
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        // The assets change with the binary; revalidating is cheap on a local network.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("microphone=(self), camera=(), geolocation=()"),
        ),
    ];
    (headers, asset.body).into_response()
}
