//! The routes of the control API and their handlers.
//!
//! Each handler runs the [`VmControl`] call on tokio's blocking pool, so a slow call
//! (a snapshot of a large guest) neither stalls the server's single runtime thread nor
//! other clients, and a panic inside the VMM's implementation becomes a 500 answer
//! instead of ending the server.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;

use super::body::{json_response, raw_json_response, JsonBody, MAX_BODY_BYTES};
use super::error::{ApiError, ErrorBody};
use super::openapi::openapi_json;
use crate::control::{
    ControlError, GdbInfo, GdbRequest, MigrateRequest, MigrationStatus, SnapshotInfo,
    SnapshotRequest, VmControl, VmStatus,
};

/// Every route the server answers, as (method, path). The OpenAPI test checks that
/// each one is described in the document and answered by the server.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/status"),
    ("PUT", "/pause"),
    ("PUT", "/resume"),
    ("PUT", "/snapshot"),
    ("PUT", "/stop"),
    ("PUT", "/migrate"),
    ("GET", "/migrate"),
    ("DELETE", "/migrate"),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
    ("PUT", "/gdb"),
];

type Vm = Arc<dyn VmControl>;

/// The router serving `vm`.
pub fn router(vm: Vm) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/pause", put(pause))
        .route("/resume", put(resume))
        .route("/snapshot", put(snapshot))
        .route("/stop", put(stop))
        .route(
            "/migrate",
            put(migrate).get(migration).delete(cancel_migration),
        )
        .route("/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .route("/gdb", put(gdb))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(vm)
}

/// Runs `f` on the blocking pool; a panic in it becomes a 500 naming the operation.
async fn call<T, F>(vm: Vm, op: &'static str, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&dyn VmControl) -> Result<T, ControlError> + Send + 'static,
{
    let result = tokio::task::spawn_blocking(move || f(vm.as_ref()))
        .await
        .map_err(|e| {
            tracing::error!("control API: {op} failed inside the VMM: {e}");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{op}: the VMM failed while handling the request"),
            )
        })?;
    result.map_err(|e| {
        tracing::debug!("control API: {op}: {e}");
        ApiError::from(e)
    })
}

/// Reports the VM's state.
///
/// State, kind, harts (or threads), instructions retired, memory, devices, uptime.
/// Counters are read without pausing the VM.
#[utoipa::path(
    get, path = "/status", tag = "vm", operation_id = "status",
    responses(
        (status = 200, description = "The VM's current status.", body = VmStatus),
        (status = 500, description = "The VMM failed while reading its status.", body = ErrorBody),
    )
)]
async fn status(State(vm): State<Vm>) -> Result<Response, ApiError> {
    let s = call(vm, "status", |vm| Ok(vm.status())).await?;
    Ok(json_response(StatusCode::OK, &s))
}

/// Pauses the VM.
///
/// Stops all harts at an instruction boundary and answers once they have stopped.
/// Pausing a paused VM succeeds and changes nothing.
#[utoipa::path(
    put, path = "/pause", tag = "vm", operation_id = "pause",
    responses(
        (status = 204, description = "The VM is paused: every hart has stopped."),
        (status = 409, description = "The VM is stopped.", body = ErrorBody),
        (status = 500, description = "The VMM failed to pause.", body = ErrorBody),
    )
)]
async fn pause(State(vm): State<Vm>) -> Result<StatusCode, ApiError> {
    call(vm, "pause", |vm| vm.pause()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resumes the VM.
///
/// Lets a paused VM run again. Resuming a running VM succeeds and changes nothing.
#[utoipa::path(
    put, path = "/resume", tag = "vm", operation_id = "resume",
    responses(
        (status = 204, description = "The VM is running."),
        (status = 409, description = "The VM is stopped.", body = ErrorBody),
        (status = 500, description = "The VMM failed to resume.", body = ErrorBody),
    )
)]
async fn resume(State(vm): State<Vm>) -> Result<StatusCode, ApiError> {
    call(vm, "resume", |vm| vm.resume()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Snapshots the VM.
///
/// Writes the VM to one file. A running VM is held at an instruction boundary while
/// the file is written and runs on afterwards (no need to pause first); a paused VM
/// stays paused.
#[utoipa::path(
    put, path = "/snapshot", tag = "vm", operation_id = "snapshot",
    request_body(content = SnapshotRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The snapshot file was written.", body = SnapshotInfo),
        (status = 400, description = "The request is malformed or its path is unusable.", body = ErrorBody),
        (status = 409, description = "The VM is stopped, or an incremental snapshot has no parent.", body = ErrorBody),
        (status = 413, description = "The request body is too large.", body = ErrorBody),
        (status = 415, description = "The request body is not application/json.", body = ErrorBody),
        (status = 500, description = "The VMM failed while writing the file.", body = ErrorBody),
        (status = 501, description = "This VM cannot take such a snapshot.", body = ErrorBody),
    )
)]
async fn snapshot(
    State(vm): State<Vm>,
    JsonBody(req): JsonBody<SnapshotRequest>,
) -> Result<Response, ApiError> {
    req.validate()?;
    let info: SnapshotInfo = call(vm, "snapshot", move |vm| vm.snapshot(req)).await?;
    Ok(json_response(StatusCode::OK, &info))
}

/// Stops the VM.
///
/// Ends the VM for good; the VM process exits after this answer has been sent.
/// Stopping a stopped VM succeeds and changes nothing.
#[utoipa::path(
    put, path = "/stop", tag = "vm", operation_id = "stop",
    responses(
        (status = 204, description = "The VM has stopped."),
        (status = 500, description = "The VMM failed to stop.", body = ErrorBody),
    )
)]
async fn stop(State(vm): State<Vm>) -> Result<StatusCode, ApiError> {
    call(vm, "stop", |vm| vm.stop()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts the VM's gdb server.
///
/// Binds `listen` in the VM process and serves the gdb remote protocol there, as
/// `--gdb` does at start: gdb-multiarch then says `target remote ADDRESS`. Once per
/// VM (the server keeps listening after gdb detaches).
#[utoipa::path(
    put, path = "/gdb", tag = "vm", operation_id = "gdb",
    request_body = GdbRequest,
    responses(
        (status = 200, description = "The gdb server listens.", body = GdbInfo),
        (status = 400, description = "The address cannot be bound.", body = ErrorBody),
        (status = 409, description = "A gdb server runs already.", body = ErrorBody),
        (status = 501, description = "This VM cannot serve gdb through the API.", body = ErrorBody),
    )
)]
async fn gdb(
    State(vm): State<Vm>,
    JsonBody(req): JsonBody<GdbRequest>,
) -> Result<Response, ApiError> {
    let info: GdbInfo = call(vm, "gdb", move |vm| vm.gdb(req)).await?;
    Ok(json_response(StatusCode::OK, &info))
}

/// Reports the VM's counters.
///
/// Prometheus text exposition format (version 0.0.4): instructions retired (all and
/// per hart or thread), guest RAM size and bytes written since the last snapshot,
/// guest accesses per device (system VM), snapshots written, uptime. Read without
/// pausing the VM.
#[utoipa::path(
    get, path = "/metrics", tag = "vm", operation_id = "metrics",
    responses(
        (status = 200, description = "The VM's metrics.", content_type = "text/plain; version=0.0.4", body = String),
        (status = 500, description = "The VMM failed while reading its metrics.", body = ErrorBody),
    )
)]
async fn metrics(State(vm): State<Vm>) -> Result<Response, ApiError> {
    let m = call(vm, "metrics", |vm| Ok(vm.metrics())).await?;
    Ok((
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        m.to_text(),
    )
        .into_response())
}

/// Starts a live migration.
///
/// Moves the running VM to the tern listening at `to` (`tern receive`): pre-copy
/// rounds while the VM runs, then a stop of at most about `max_downtime_ms` (or
/// post-copy). Answers at once with the first status; follow it with `GET /migrate`.
/// When the migration completes, this VM ends and its process exits.
#[utoipa::path(
    put, path = "/migrate", tag = "migration", operation_id = "migrate",
    request_body(content = MigrateRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "The migration has started.", body = MigrationStatus),
        (status = 400, description = "The request is malformed.", body = ErrorBody),
        (status = 409, description = "The VM is stopped or paused, or a migration is already running.", body = ErrorBody),
        (status = 413, description = "The request body is too large.", body = ErrorBody),
        (status = 415, description = "The request body is not application/json.", body = ErrorBody),
        (status = 501, description = "This VM cannot migrate.", body = ErrorBody),
    )
)]
async fn migrate(
    State(vm): State<Vm>,
    JsonBody(req): JsonBody<MigrateRequest>,
) -> Result<Response, ApiError> {
    req.validate()?;
    let s: MigrationStatus = call(vm, "migrate", move |vm| vm.migrate(req)).await?;
    Ok(json_response(StatusCode::ACCEPTED, &s))
}

/// Reports the migration's progress.
///
/// Phase, pre-copy round, bytes sent, dirty rate, bandwidth, what remains, the
/// expected and (once known) the actual downtime, the throttle. Phase `none` when no
/// migration was asked for.
#[utoipa::path(
    get, path = "/migrate", tag = "migration", operation_id = "migration",
    responses(
        (status = 200, description = "The current or last migration.", body = MigrationStatus),
    )
)]
async fn migration(State(vm): State<Vm>) -> Result<Response, ApiError> {
    let s = call(vm, "migration", |vm| Ok(vm.migration())).await?;
    Ok(json_response(StatusCode::OK, &s))
}

/// Cancels the migration.
///
/// Before the switch-over the VM runs on here as if nothing happened. Once the
/// destination owns the VM it is too late (409).
#[utoipa::path(
    delete, path = "/migrate", tag = "migration", operation_id = "cancel_migration",
    responses(
        (status = 200, description = "The migration is being cancelled.", body = MigrationStatus),
        (status = 409, description = "No migration is running, or it is past its switch-over.", body = ErrorBody),
    )
)]
async fn cancel_migration(State(vm): State<Vm>) -> Result<Response, ApiError> {
    let s = call(vm, "cancel migration", |vm| vm.cancel_migration()).await?;
    Ok(json_response(StatusCode::OK, &s))
}

/// Describes this API.
///
/// This document: the API's OpenAPI 3.1 description.
#[utoipa::path(
    get, path = "/openapi.json", tag = "meta", operation_id = "openapi",
    responses(
        (status = 200, description = "The OpenAPI document of this API.", content_type = "application/json", body = Object),
    )
)]
async fn openapi() -> Response {
    raw_json_response(StatusCode::OK, openapi_json())
}

/// 405 for a known path with another method, listing the allowed ones.
async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    let allowed: Vec<&str> = ROUTES
        .iter()
        .filter(|(_, p)| *p == uri.path())
        .map(|(m, _)| *m)
        .collect();
    let mut e = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "method {method} is not allowed on {}: use {}",
            uri.path(),
            allowed.join(" or ")
        ),
    );
    e.allow = Some(allowed.join(", "));
    e
}

/// 404 for an unknown path, listing the routes.
async fn not_found(method: Method, uri: Uri) -> impl IntoResponse {
    let routes: Vec<String> = ROUTES.iter().map(|(m, p)| format!("{m} {p}")).collect();
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no route for {method} {}: the API has {}",
            uri.path(),
            routes.join(", ")
        ),
    )
}
