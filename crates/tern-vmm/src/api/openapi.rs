//! The OpenAPI document, generated from the handlers and types with utoipa.
//!
//! `crates/tern-vmm/openapi.json` is a checked-in copy; `tests/openapi.rs` fails when
//! the two differ. Regenerate it after changing the API with
//! `TERN_BLESS=1 cargo test -p tern-vmm --test openapi`.

use std::sync::OnceLock;

use utoipa::OpenApi;

use super::error::ErrorBody;
use super::routes;
use crate::control::{
    Compression, DeviceStatus, DiskMigration, GdbInfo, GdbRequest, HartState, HartStatus,
    MemoryStatus, MigrateRequest, MigrationMode, MigrationPhase, MigrationStatus, Privilege,
    SnapshotInfo, SnapshotRequest, TlsPaths, VmKind, VmState, VmStatus,
};

/// The API description. Its version is the API's own, changed only when the API
/// changes, not with each tern release.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "tern VM control API",
        version = "1.0.0",
        description = "Served by every running tern VM (tern run, tern exec) on the Unix \
socket given with --api-sock. Requests and answers are JSON; errors answer \
{\"error\": \"...\"}.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        routes::status,
        routes::pause,
        routes::resume,
        routes::snapshot,
        routes::stop,
        routes::migrate,
        routes::migration,
        routes::cancel_migration,
        routes::openapi,
        routes::metrics,
        routes::gdb,
    ),
    components(schemas(
        VmStatus, VmState, VmKind, HartStatus, HartState, Privilege, MemoryStatus,
        DeviceStatus, SnapshotRequest, SnapshotInfo, Compression, ErrorBody, MigrateRequest,
        MigrationMode, DiskMigration, TlsPaths, MigrationStatus, MigrationPhase,
        GdbRequest, GdbInfo,
    )),
    tags(
        (name = "vm", description = "Observe and control the VM."),
        (name = "migration", description = "Live migration to another tern."),
        (name = "meta", description = "About the API itself."),
    )
)]
pub struct ApiDoc;

/// The document as pretty-printed JSON with a final newline: exactly what
/// `GET /openapi.json` serves and what the checked-in file holds.
pub fn openapi_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut s = ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document is plain data and always serializes");
        s.push('\n');
        s
    })
}
