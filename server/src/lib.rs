//! Skriva's service: sessions, WebSocket streaming, drafts and their lifecycle, storage, auth and
//! the audit log. It sits on top of `skriva-engine` and `skriva-vocab` and is the only crate that
//! speaks HTTP or SQL.
