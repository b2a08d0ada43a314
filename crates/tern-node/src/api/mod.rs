//! The node manager's HTTP/JSON API, served on a Unix socket by tern-vmm's server
//! (owner-only socket, peer credentials checked, bounded requests).
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | GET | `/node` | | 200 [`NodeInfo`](crate::spec::NodeInfo) |
//! | GET | `/slices` | | 200 list of [`Slice`](crate::spec::Slice) |
//! | POST | `/slices` | [`CreateSlice`](crate::spec::CreateSlice) | 201 `Slice` |
//! | GET | `/slices/{name}` | | 200 `Slice` |
//! | DELETE | `/slices/{name}` | | 204 |
//! | POST | `/slices/{name}/renew` | [`RenewSlice`](crate::spec::RenewSlice) | 200 `Slice` |
//! | GET | `/slices/{name}/vms` | | 200 list of [`Vm`](crate::spec::Vm) |
//! | POST | `/slices/{name}/vms` | [`StartVm`](crate::spec::StartVm) | 201 `Vm` |
//! | GET | `/slices/{name}/vms/{id}` | | 200 `Vm` |
//! | DELETE | `/slices/{name}/vms/{id}` | | 204 |
//! | GET | `/slices/{name}/services` | | 200 list of [`Service`](crate::service::Service) |
//! | POST | `/slices/{name}/services` | [`CreateService`](crate::service::CreateService) | 201 `Service` |
//! | DELETE | `/slices/{name}/services/{service}` | | 204 |
//! | GET | `/services` | | 200 list of `Service` (the port mapper) |
//! | GET | `/services/{name}` | | 200 `Service` |
//! | GET | `/openapi.json` | | 200 the OpenAPI document |
//! | GET | `/metrics` | | 200 Prometheus text: node, slice and VM use |
//!
//! Errors answer `{"error": "..."}`: 400 malformed request, 404 unknown slice, VM or
//! path, 405 wrong method (with `Allow`), 409 the node or slice cannot hold it, 500
//! the host failed.

mod openapi;
mod routes;

pub use openapi::{openapi_json, NodeApiDoc};
pub use routes::{router, ROUTES};
