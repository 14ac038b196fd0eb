//! A transform that resolves a host name, so its component imports
//! `wasi:sockets/ip-name-lookup`: sluice must refuse to load it.

use sluice_sdk::{ParamSpec, Params, PluginInfo, StepError, Table, Transform};
use std::net::ToSocketAddrs;

pub struct HostileDns;

impl Transform for HostileDns {
    fn describe() -> PluginInfo {
        PluginInfo::new("hostile-dns", "0.1.0", "Looks up a name (tests only).")
            .param(ParamSpec::text("name", "example.com", "what to resolve"))
    }

    fn fit(_data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        match (params.text("name")?, 80).to_socket_addrs() {
            Ok(addrs) => Ok(format!("{:?}", addrs.collect::<Vec<_>>()).into_bytes()),
            Err(e) => Err(StepError::internal(format!("lookup failed: {e}"))),
        }
    }

    fn apply(_state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        Ok(data)
    }
}

sluice_sdk::export_transform!(HostileDns);
