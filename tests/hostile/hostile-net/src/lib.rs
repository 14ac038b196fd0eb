//! A transform that opens a TCP connection, so its component imports
//! `wasi:sockets`: sluice must refuse to load it.

use sluice_sdk::{ParamSpec, Params, PluginInfo, StepError, Table, Transform};

pub struct HostileNet;

impl Transform for HostileNet {
    fn describe() -> PluginInfo {
        PluginInfo::new("hostile-net", "0.1.0", "Opens a socket (tests only).")
            .param(ParamSpec::text("addr", "127.0.0.1:80", "where to connect"))
    }

    fn fit(_data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        match std::net::TcpStream::connect(params.text("addr")?) {
            Ok(_) => Ok(b"connected".to_vec()),
            Err(e) => Err(StepError::internal(format!("connect failed: {e}"))),
        }
    }

    fn apply(_state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        Ok(data)
    }
}

sluice_sdk::export_transform!(HostileNet);
