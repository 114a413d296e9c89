//! What a client needs to set itself up: the note templates the server structures drafts with
//! (`GET /api/templates`, shipped plus the clinic's) and who the token belongs to (`GET /api/me`).
//! The review page uses both to offer templates and to show who signs.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::AppState;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/templates", get(list_templates))
        .route("/api/me", get(me))
}

/// `GET /api/templates`: every configured template with its headings in note order; the one
/// used when a request names none is marked `default`.
async fn list_templates(State(state): State<AppState>, _caller: Caller) -> Json<Value> {
    let default = &state.config().default_template;
    let items: Vec<Value> = state
        .notes()
        .vocabulary()
        .templates()
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "title": t.title,
                "area": t.area,
                "headings": t.headings,
                "default": &t.id == default,
            })
        })
        .collect();
    Json(json!({ "items": items }))
}

/// `GET /api/me`: the caller's name, role and HSA id.
async fn me(Caller(user): Caller) -> Json<Value> {
    Json(json!({
        "name": user.name,
        "role": user.role.as_str(),
        "hsa_id": user.hsa_id,
    }))
}
