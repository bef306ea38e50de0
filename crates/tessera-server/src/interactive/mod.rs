//! The interactive flow: `/authorize`, the hosted pages, sessions, logout and
//! UserInfo.

pub mod cookies;
pub mod flow;
pub mod html;

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/authorize", get(flow::authorize))
}
