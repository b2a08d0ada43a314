//! The node API's OpenAPI document, generated from the handlers and types.

use std::sync::OnceLock;

use tern_vmm::api::ErrorBody;
use utoipa::OpenApi;

use super::routes;
use crate::service::{CreateService, Service, ServiceState};
use crate::spec::{
    CreateSlice, NodeInfo, OnExpiry, RenewSlice, Slice, SliceSpec, SliceUsage, StartVm, Vm, VmKind,
    VmSnapshot, VmState,
};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "tern node manager API",
        version = "1.0.0",
        description = "Served by `tern node serve` on its --api-sock: slices of this host \
(bounded, expiring shares enforced with cgroups) and the VMs running in them. Requests \
and answers are JSON; errors answer {\"error\": \"...\"}.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        routes::node_info,
        routes::list_slices,
        routes::create_slice,
        routes::get_slice,
        routes::delete_slice,
        routes::renew_slice,
        routes::list_vms,
        routes::start_vm,
        routes::get_vm,
        routes::stop_vm,
        routes::snapshot_vm,
        routes::list_slice_services,
        routes::add_service,
        routes::remove_service,
        routes::list_services,
        routes::lookup_service,
        routes::openapi,
        routes::metrics,
    ),
    components(schemas(
        NodeInfo, CreateSlice, SliceSpec, OnExpiry, RenewSlice, Slice, SliceUsage, StartVm, Vm, VmKind,
        VmState, VmSnapshot, ErrorBody, CreateService, Service, ServiceState,
    )),
    tags(
        (name = "node", description = "The node and its capacity."),
        (name = "slices", description = "Slices: bounded, expiring shares of the node."),
        (name = "vms", description = "VMs running in a slice."),
        (name = "services", description = "The super-server and port mapper: services whose VM is restored from a snapshot when a connection arrives."),
        (name = "meta", description = "About the API itself."),
    )
)]
pub struct NodeApiDoc;

/// The document as pretty-printed JSON with a final newline, as served.
pub fn openapi_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut s = NodeApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document is plain data and always serializes");
        s.push('\n');
        s
    })
}
