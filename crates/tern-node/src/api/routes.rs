//! The routes of the node API and their handlers. Each runs the node's operation on
//! tokio's blocking pool (the store, cgroup files and process starts block), so one
//! slow request (a slice being emptied) neither stalls the server nor other clients.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tern_vmm::api::{
    json_response, raw_json_response, ApiError, ErrorBody, JsonBody, MAX_BODY_BYTES,
};

use super::openapi::openapi_json;
use crate::error::NodeError;
use crate::node::Node;
use crate::service::{CreateService, Service};
use crate::spec::{CreateSlice, NodeInfo, RenewSlice, Slice, StartVm, Vm, VmSnapshot};

/// Every route the server answers, as (method, path template). The OpenAPI test
/// checks that the document describes exactly these and that each is answered.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/node"),
    ("GET", "/slices"),
    ("POST", "/slices"),
    ("GET", "/slices/{name}"),
    ("DELETE", "/slices/{name}"),
    ("POST", "/slices/{name}/renew"),
    ("GET", "/slices/{name}/vms"),
    ("POST", "/slices/{name}/vms"),
    ("GET", "/slices/{name}/vms/{id}"),
    ("DELETE", "/slices/{name}/vms/{id}"),
    ("POST", "/slices/{name}/vms/{id}/snapshot"),
    ("GET", "/slices/{name}/services"),
    ("POST", "/slices/{name}/services"),
    ("DELETE", "/slices/{name}/services/{service}"),
    ("GET", "/services"),
    ("GET", "/services/{name}"),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
];

type N = Arc<Node>;

/// The router serving `node`.
pub fn router(node: N) -> Router {
    Router::new()
        .route("/node", get(node_info))
        .route("/slices", get(list_slices).post(create_slice))
        .route("/slices/{name}", get(get_slice).delete(delete_slice))
        .route("/slices/{name}/renew", post(renew_slice))
        .route("/slices/{name}/vms", get(list_vms).post(start_vm))
        .route("/slices/{name}/vms/{id}", get(get_vm).delete(stop_vm))
        .route("/slices/{name}/vms/{id}/snapshot", post(snapshot_vm))
        .route(
            "/slices/{name}/services",
            get(list_slice_services).post(add_service),
        )
        .route(
            "/slices/{name}/services/{service}",
            axum::routing::delete(remove_service),
        )
        .route("/services", get(list_services))
        .route("/services/{name}", get(lookup_service))
        .route("/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(node)
}

/// Runs `f` on the blocking pool; a panic in it becomes a 500 naming the operation.
async fn call<T, F>(node: N, op: &'static str, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&N) -> Result<T, NodeError> + Send + 'static,
{
    let result = tokio::task::spawn_blocking(move || f(&node))
        .await
        .map_err(|e| {
            tracing::error!("node API: {op} failed: {e}");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{op}: the node manager failed while handling the request"),
            )
        })?;
    result.map_err(|e| {
        let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError::new(status, e.message)
    })
}

/// A path parameter that could not be decoded (not UTF-8): 400.
fn bad_path(r: PathRejection) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        format!("bad path: {}", r.body_text()),
    )
}

/// Describes the node.
///
/// Its capacity (CPUs, memory, disk offered to slices), what slices hold of it, and
/// how slivers are enforced.
#[utoipa::path(
    get, path = "/node", tag = "node", operation_id = "node_info",
    responses((status = 200, description = "The node.", body = NodeInfo))
)]
pub(super) async fn node_info(State(node): State<N>) -> Result<Response, ApiError> {
    let info = call(node, "node info", |n| n.info()).await?;
    Ok(json_response(StatusCode::OK, &info))
}

/// Lists the slices.
#[utoipa::path(
    get, path = "/slices", tag = "slices", operation_id = "list_slices",
    responses((status = 200, description = "Every slice on the node.", body = Vec<Slice>))
)]
pub(super) async fn list_slices(State(node): State<N>) -> Result<Response, ApiError> {
    let s = call(node, "list slices", |n| n.slices()).await?;
    Ok(json_response(StatusCode::OK, &s))
}

/// Creates a slice.
///
/// Admission control first: the node refuses a slice it cannot hold beside the
/// others (409, saying what is short). Then its cgroup is made with the spec's
/// limits.
#[utoipa::path(
    post, path = "/slices", tag = "slices", operation_id = "create_slice",
    request_body = CreateSlice,
    responses(
        (status = 201, description = "The slice was created.", body = Slice),
        (status = 400, description = "Malformed request or out-of-range spec.", body = ErrorBody),
        (status = 409, description = "The name is taken, or the node cannot hold the spec.", body = ErrorBody),
        (status = 500, description = "The cgroup or the store failed.", body = ErrorBody),
    )
)]
pub(super) async fn create_slice(
    State(node): State<N>,
    JsonBody(req): JsonBody<CreateSlice>,
) -> Result<Response, ApiError> {
    let s = call(node, "create slice", move |n| n.create_slice(req)).await?;
    Ok(json_response(StatusCode::CREATED, &s))
}

/// Shows a slice, with its running VMs and cgroup usage.
#[utoipa::path(
    get, path = "/slices/{name}", tag = "slices", operation_id = "get_slice",
    params(("name" = String, Path, description = "The slice's name.")),
    responses(
        (status = 200, description = "The slice.", body = Slice),
        (status = 404, description = "No such slice.", body = ErrorBody),
    )
)]
pub(super) async fn get_slice(
    State(node): State<N>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(name) = name.map_err(bad_path)?;
    let s = call(node, "show slice", move |n| n.slice(&name)).await?;
    Ok(json_response(StatusCode::OK, &s))
}

/// Deletes a slice.
///
/// Its VMs and every other process in its cgroup are killed and the cgroup removed.
#[utoipa::path(
    delete, path = "/slices/{name}", tag = "slices", operation_id = "delete_slice",
    params(("name" = String, Path, description = "The slice's name.")),
    responses(
        (status = 204, description = "The slice is gone."),
        (status = 404, description = "No such slice.", body = ErrorBody),
        (status = 500, description = "Its processes or cgroup could not be removed.", body = ErrorBody),
    )
)]
pub(super) async fn delete_slice(
    State(node): State<N>,
    name: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(name) = name.map_err(bad_path)?;
    call(node, "delete slice", move |n| n.delete_slice(&name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Renews a slice.
///
/// It then expires `lifetime_s` (or its spec's lifetime) from now.
#[utoipa::path(
    post, path = "/slices/{name}/renew", tag = "slices", operation_id = "renew_slice",
    params(("name" = String, Path, description = "The slice's name.")),
    request_body = RenewSlice,
    responses(
        (status = 200, description = "The renewed slice.", body = Slice),
        (status = 400, description = "Malformed request or lifetime out of range.", body = ErrorBody),
        (status = 404, description = "No such slice.", body = ErrorBody),
    )
)]
pub(super) async fn renew_slice(
    State(node): State<N>,
    name: Result<Path<String>, PathRejection>,
    JsonBody(req): JsonBody<RenewSlice>,
) -> Result<Response, ApiError> {
    let Path(name) = name.map_err(bad_path)?;
    let s = call(node, "renew slice", move |n| n.renew(&name, req)).await?;
    Ok(json_response(StatusCode::OK, &s))
}

/// Lists a slice's VMs, running and exited.
#[utoipa::path(
    get, path = "/slices/{name}/vms", tag = "vms", operation_id = "list_vms",
    params(("name" = String, Path, description = "The slice's name.")),
    responses(
        (status = 200, description = "The slice's VMs.", body = Vec<Vm>),
        (status = 404, description = "No such slice.", body = ErrorBody),
    )
)]
pub(super) async fn list_vms(
    State(node): State<N>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(name) = name.map_err(bad_path)?;
    let v = call(node, "list VMs", move |n| n.vms(&name)).await?;
    Ok(json_response(StatusCode::OK, &v))
}

/// Starts a VM in a slice.
///
/// `tern exec`, `tern run` or `tern receive` (a VM migrated into the slice) runs as
/// a process of its own in the slice's cgroup, detached from the node manager (it
/// survives the manager's restart), with its control API on the socket named in the
/// answer.
#[utoipa::path(
    post, path = "/slices/{name}/vms", tag = "vms", operation_id = "start_vm",
    params(("name" = String, Path, description = "The slice's name.")),
    request_body = StartVm,
    responses(
        (status = 201, description = "The VM is starting.", body = Vm),
        (status = 400, description = "Malformed request.", body = ErrorBody),
        (status = 404, description = "No such slice.", body = ErrorBody),
        (status = 409, description = "The slice cannot hold another VM (max_vms or memory).", body = ErrorBody),
        (status = 500, description = "The process could not be started.", body = ErrorBody),
    )
)]
pub(super) async fn start_vm(
    State(node): State<N>,
    name: Result<Path<String>, PathRejection>,
    JsonBody(req): JsonBody<StartVm>,
) -> Result<Response, ApiError> {
    let Path(name) = name.map_err(bad_path)?;
    let v = call(node, "start VM", move |n| n.start_vm(&name, req)).await?;
    Ok(json_response(StatusCode::CREATED, &v))
}

/// Shows one VM of a slice.
#[utoipa::path(
    get, path = "/slices/{name}/vms/{id}", tag = "vms", operation_id = "get_vm",
    params(
        ("name" = String, Path, description = "The slice's name."),
        ("id" = String, Path, description = "The VM's id."),
    ),
    responses(
        (status = 200, description = "The VM.", body = Vm),
        (status = 404, description = "No such slice or VM.", body = ErrorBody),
    )
)]
pub(super) async fn get_vm(
    State(node): State<N>,
    p: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((name, id)) = p.map_err(bad_path)?;
    let v = call(node, "show VM", move |n| n.vm(&name, &id)).await?;
    Ok(json_response(StatusCode::OK, &v))
}

/// Writes a snapshot of a running VM into its sliver's directory.
///
/// Within the slice's disk quota: refused with 507 and the figures when the VM's
/// memory would not fit, and deleted (507) if the file written does not.
#[utoipa::path(
    post, path = "/slices/{name}/vms/{id}/snapshot", tag = "vms", operation_id = "snapshot_vm",
    params(
        ("name" = String, Path, description = "The slice's name."),
        ("id" = String, Path, description = "The VM's id."),
    ),
    responses(
        (status = 201, description = "The snapshot was written.", body = VmSnapshot),
        (status = 404, description = "No such slice or VM.", body = ErrorBody),
        (status = 409, description = "The VM is not running.", body = ErrorBody),
        (status = 507, description = "The slice's disk quota cannot hold it.", body = ErrorBody),
    )
)]
pub(super) async fn snapshot_vm(
    State(node): State<N>,
    p: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((name, id)) = p.map_err(bad_path)?;
    let s = call(node, "snapshot VM", move |n| n.snapshot_vm(&name, &id)).await?;
    Ok(json_response(StatusCode::CREATED, &s))
}

/// Stops a VM and forgets it.
///
/// The VM is asked to stop through its control API and killed if it has not ended
/// within a few seconds.
#[utoipa::path(
    delete, path = "/slices/{name}/vms/{id}", tag = "vms", operation_id = "stop_vm",
    params(
        ("name" = String, Path, description = "The slice's name."),
        ("id" = String, Path, description = "The VM's id."),
    ),
    responses(
        (status = 204, description = "The VM is stopped and forgotten."),
        (status = 404, description = "No such slice or VM.", body = ErrorBody),
    )
)]
pub(super) async fn stop_vm(
    State(node): State<N>,
    p: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path((name, id)) = p.map_err(bad_path)?;
    call(node, "stop VM", move |n| n.stop_vm(&name, &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists a slice's services.
#[utoipa::path(
    get, path = "/slices/{name}/services", tag = "services", operation_id = "list_slice_services",
    params(("name" = String, Path, description = "The slice's name.")),
    responses(
        (status = 200, description = "The slice's services.", body = Vec<Service>),
        (status = 404, description = "No such slice.", body = ErrorBody),
    )
)]
pub(super) async fn list_slice_services(
    State(node): State<N>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(name) = name.map_err(bad_path)?;
    let v = call(node, "list services", move |n| n.slice_services(&name)).await?;
    Ok(json_response(StatusCode::OK, &v))
}

/// Registers a service of a slice.
///
/// The node listens on the service's port; the first connection restores the VM
/// from the snapshot in the slice (as a VM of it) and is handed to the guest's port
/// through the VM's user-mode network. After the idle timeout without connections
/// the VM is snapshotted and stopped; the next connection restores it again.
#[utoipa::path(
    post, path = "/slices/{name}/services", tag = "services", operation_id = "add_service",
    params(("name" = String, Path, description = "The slice's name.")),
    request_body = CreateService,
    responses(
        (status = 201, description = "The service listens (cold).", body = Service),
        (status = 400, description = "Malformed request, or the snapshot cannot be read.", body = ErrorBody),
        (status = 404, description = "No such slice.", body = ErrorBody),
        (status = 409, description = "The name is taken or the port is in use.", body = ErrorBody),
    )
)]
pub(super) async fn add_service(
    State(node): State<N>,
    name: Result<Path<String>, PathRejection>,
    JsonBody(req): JsonBody<CreateService>,
) -> Result<Response, ApiError> {
    let Path(name) = name.map_err(bad_path)?;
    let v = call(node, "add service", move |n| n.add_service(&name, req)).await?;
    Ok(json_response(StatusCode::CREATED, &v))
}

/// Removes a service.
///
/// The node stops listening on its port and stops its VM if it runs.
#[utoipa::path(
    delete, path = "/slices/{name}/services/{service}", tag = "services", operation_id = "remove_service",
    params(
        ("name" = String, Path, description = "The slice's name."),
        ("service" = String, Path, description = "The service's name."),
    ),
    responses(
        (status = 204, description = "The service is gone."),
        (status = 404, description = "No such slice or service.", body = ErrorBody),
    )
)]
pub(super) async fn remove_service(
    State(node): State<N>,
    p: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path((name, service)) = p.map_err(bad_path)?;
    call(node, "remove service", move |n| {
        n.remove_service(&name, &service)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists every service of the node (the port mapper's directory).
#[utoipa::path(
    get, path = "/services", tag = "services", operation_id = "list_services",
    responses((status = 200, description = "Every service on the node.", body = Vec<Service>))
)]
pub(super) async fn list_services(State(node): State<N>) -> Result<Response, ApiError> {
    let v = call(node, "list services", |n| n.services()).await?;
    Ok(json_response(StatusCode::OK, &v))
}

/// Finds a service: the node's address and port, and whether its VM is warm.
#[utoipa::path(
    get, path = "/services/{name}", tag = "services", operation_id = "lookup_service",
    params(("name" = String, Path, description = "The service's name.")),
    responses(
        (status = 200, description = "The service.", body = Service),
        (status = 404, description = "No such service.", body = ErrorBody),
    )
)]
pub(super) async fn lookup_service(
    State(node): State<N>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(name) = name.map_err(bad_path)?;
    let v = call(node, "look up service", move |n| n.service(&name)).await?;
    Ok(json_response(StatusCode::OK, &v))
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
pub(super) async fn openapi() -> Response {
    raw_json_response(StatusCode::OK, openapi_json())
}

/// Reports the node's use of the host.
///
/// Prometheus text exposition format (version 0.0.4): the node's slices and memory
/// held; per slice its memory limit and use, processes, forks refused at pids.max,
/// OOM kills, running VMs and time to expiry (from its cgroup); per running VM its
/// host process's CPU time and resident memory.
#[utoipa::path(
    get, path = "/metrics", tag = "node", operation_id = "metrics",
    responses(
        (status = 200, description = "The node's metrics.", content_type = "text/plain; version=0.0.4", body = String),
    )
)]
pub(super) async fn metrics(State(node): State<N>) -> Result<Response, ApiError> {
    let m = call(node, "metrics", |n| crate::metrics::collect(n)).await?;
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

/// Whether `path` matches the route template `template` (`{x}` is one segment).
fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

/// 405 for a known path with another method, listing the allowed ones.
async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    let allowed: Vec<&str> = ROUTES
        .iter()
        .filter(|(_, t)| matches(t, uri.path()))
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
            "no route for {method} {}: the node API has {}",
            uri.path(),
            routes.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_one_segment_per_parameter() {
        assert!(matches("/slices/{name}", "/slices/a"));
        assert!(!matches("/slices/{name}", "/slices/"));
        assert!(!matches("/slices/{name}", "/slices/a/vms"));
        assert!(matches("/slices/{name}/vms/{id}", "/slices/a/vms/vm-1"));
    }
}
