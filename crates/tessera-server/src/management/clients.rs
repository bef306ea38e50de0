//! Placeholder: being written (issue 3).

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api
}
