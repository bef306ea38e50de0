//! An export's download link: `{issuer}jobs/exports/{token}.json.gz` (or
//! `.csv.gz`), working until the job's `location_expires_at`. The token is an
//! HMAC (under a key derived from the master key) of the job id and the
//! expiry: 256 bits nobody can guess, recomputed when the job is shown, and
//! stored only as its SHA-256 (which the download looks up). The file is
//! streamed from its stored chunks.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_core::jobs::{ExportFormat, Job};

use crate::management::error::MgmtError;
use crate::state::AppState;

/// The route (under the issuer's path).
pub const ROUTE: &str = "/jobs/exports/{file}";

/// The token of `job`'s link (`None` before it has an expiry).
pub fn token(state: &AppState, job: &Job) -> Option<String> {
    let expires = job.location_expires_at?;
    let mac = state.master.keyed_hash(
        "tessera-export-link",
        format!("{}\n{expires}", job.id).as_bytes(),
    );
    Some(URL_SAFE_NO_PAD.encode(mac))
}

/// The link of a completed export, while it works.
pub fn location(state: &AppState, job: &Job) -> Option<String> {
    let expires = job.location_expires_at?;
    if expires <= state.clock.now() {
        return None;
    }
    let ext = job.format.unwrap_or(ExportFormat::Json).extension();
    Some(format!(
        "{}jobs/exports/{}.{ext}",
        state
            .config
            .issuer
            .as_str()
            .trim_end_matches('/')
            .to_owned()
            + "/",
        token(state, job)?
    ))
}

fn gone() -> Response {
    MgmtError::not_found(
        "inexistent_export",
        "The export does not exist or its link expired.",
    )
    .into_response()
}

/// `GET /jobs/exports/{token}.{ext}`: the file, while the link works.
pub async fn download(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some((token, ext)) = file.split_once('.') else {
        return gone();
    };
    if token.len() != 43
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return gone();
    }
    let hash = tessera_core::ids::sha256(token.as_bytes());
    let job = match state.store.find_export(&hash, state.clock.now()).await {
        Ok(Some(job)) => job,
        Ok(None) => return gone(),
        Err(e) => return MgmtError::from(e).into_response(),
    };
    let format = job.format.unwrap_or(ExportFormat::Json);
    if ext != format.extension() {
        return gone();
    }
    let store = state.store.clone();
    let (id, chunks) = (job.id.clone(), job.chunks);
    let stream = futures_util::stream::unfold(0i64, move |seq| {
        let (store, id) = (store.clone(), id.clone());
        async move {
            if seq >= chunks {
                return None;
            }
            match store.get_job_chunk(&id, seq).await {
                Ok(Some(data)) => Some((Ok::<_, std::io::Error>(data), seq + 1)),
                Ok(None) => Some((
                    Err(std::io::Error::other("an export chunk is missing")),
                    chunks,
                )),
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), chunks)),
            }
        }
    });
    let mut res = (StatusCode::OK, Body::from_stream(stream)).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/gzip"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}.{}\"",
        job.id,
        format.extension()
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}
