//! The node's embedded store: slices and VMs in one redb file under the state
//! directory, written in ACID transactions, so that what the daemon knew survives its
//! restart (or a `kill -9`).
//!
//! Values are the [`crate::spec`] types as JSON: readable with any redb tool, and a
//! record written by an older daemon still decodes when fields are added with defaults.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::service::Service;
use crate::spec::{Slice, Vm};

/// Slices by name.
const SLICES: TableDefinition<&str, &str> = TableDefinition::new("slices");
/// VMs by id.
const VMS: TableDefinition<&str, &str> = TableDefinition::new("vms");
/// Super-server services by name.
const SERVICES: TableDefinition<&str, &str> = TableDefinition::new("services");
/// Counters (the next VM number).
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// The store's file name in the state directory.
pub const STORE_FILE: &str = "node.redb";

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
#[error("node store {path}: {what}: {message}")]
pub struct StoreError {
    path: PathBuf,
    what: &'static str,
    message: String,
}

/// The open store. Writes are serialized by redb; the node adds its own lock around
/// read-check-write sequences.
pub struct Store {
    db: Database,
    path: PathBuf,
}

impl Store {
    /// Opens (or creates) the store in `dir`. Fails if another daemon has it open.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(STORE_FILE);
        let db = Database::create(&path).map_err(|e| StoreError {
            path: path.clone(),
            what: "open (is another node manager using this state directory?)",
            message: e.to_string(),
        })?;
        let store = Store { db, path };
        // Create the tables, so that readers find them.
        store.write("create tables", |tx| {
            tx.open_table(SLICES)?;
            tx.open_table(VMS)?;
            tx.open_table(META)?;
            tx.open_table(SERVICES)?;
            Ok(())
        })?;
        Ok(store)
    }

    fn err(&self, what: &'static str, e: impl std::fmt::Display) -> StoreError {
        StoreError {
            path: self.path.clone(),
            what,
            message: e.to_string(),
        }
    }

    fn write<T>(
        &self,
        what: &'static str,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, StoreError> {
        let tx = self.db.begin_write().map_err(|e| self.err(what, e))?;
        let value = f(&tx).map_err(|e| self.err(what, e))?;
        tx.commit().map_err(|e| self.err(what, e))?;
        Ok(value)
    }

    fn get<T: DeserializeOwned>(
        &self,
        table: TableDefinition<&str, &str>,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let what = "read";
        let tx = self.db.begin_read().map_err(|e| self.err(what, e))?;
        let t = tx.open_table(table).map_err(|e| self.err(what, e))?;
        let Some(v) = t.get(key).map_err(|e| self.err(what, e))? else {
            return Ok(None);
        };
        serde_json::from_str(v.value())
            .map(Some)
            .map_err(|e| self.err("decode a record", e))
    }

    fn all<T: DeserializeOwned>(
        &self,
        table: TableDefinition<&str, &str>,
    ) -> Result<Vec<T>, StoreError> {
        let what = "list";
        let tx = self.db.begin_read().map_err(|e| self.err(what, e))?;
        let t = tx.open_table(table).map_err(|e| self.err(what, e))?;
        let mut out = Vec::new();
        for entry in t.iter().map_err(|e| self.err(what, e))? {
            let (_, v) = entry.map_err(|e| self.err(what, e))?;
            out.push(serde_json::from_str(v.value()).map_err(|e| self.err("decode a record", e))?);
        }
        Ok(out)
    }

    fn put<T: Serialize>(
        &self,
        table: TableDefinition<&str, &str>,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(value).map_err(|e| self.err("encode a record", e))?;
        self.write("write", |tx| {
            tx.open_table(table)?.insert(key, json.as_str())?;
            Ok(())
        })
    }

    fn delete(&self, table: TableDefinition<&str, &str>, key: &str) -> Result<(), StoreError> {
        self.write("delete", |tx| {
            tx.open_table(table)?.remove(key)?;
            Ok(())
        })
    }

    /// The slice called `name`.
    pub fn slice(&self, name: &str) -> Result<Option<Slice>, StoreError> {
        self.get(SLICES, name)
    }

    /// Every slice, by name.
    pub fn slices(&self) -> Result<Vec<Slice>, StoreError> {
        self.all(SLICES)
    }

    /// Writes a slice (new or changed).
    pub fn put_slice(&self, s: &Slice) -> Result<(), StoreError> {
        self.put(SLICES, &s.name, s)
    }

    /// Forgets a slice (its VMs are removed separately).
    pub fn delete_slice(&self, name: &str) -> Result<(), StoreError> {
        self.delete(SLICES, name)
    }

    /// The VM with this id.
    pub fn vm(&self, id: &str) -> Result<Option<Vm>, StoreError> {
        self.get(VMS, id)
    }

    /// Every VM, of every slice.
    pub fn vms(&self) -> Result<Vec<Vm>, StoreError> {
        self.all(VMS)
    }

    /// Writes a VM (new or changed).
    pub fn put_vm(&self, vm: &Vm) -> Result<(), StoreError> {
        self.put(VMS, &vm.id, vm)
    }

    /// Forgets a VM.
    pub fn delete_vm(&self, id: &str) -> Result<(), StoreError> {
        self.delete(VMS, id)
    }

    /// The service called `name`.
    pub fn service(&self, name: &str) -> Result<Option<Service>, StoreError> {
        self.get(SERVICES, name)
    }

    /// Every service, by name.
    pub fn services(&self) -> Result<Vec<Service>, StoreError> {
        self.all(SERVICES)
    }

    /// Writes a service (new or changed).
    pub fn put_service(&self, s: &Service) -> Result<(), StoreError> {
        self.put(SERVICES, &s.name, s)
    }

    /// Forgets a service.
    pub fn delete_service(&self, name: &str) -> Result<(), StoreError> {
        self.delete(SERVICES, name)
    }

    /// A fresh VM number, never handed out before by this store.
    pub fn next_vm_number(&self) -> Result<u64, StoreError> {
        self.write("count VMs", |tx| {
            let mut t = tx.open_table(META)?;
            let n = t.get("next_vm")?.map(|v| v.value()).unwrap_or(1);
            t.insert("next_vm", n + 1)?;
            Ok(n)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::SliceSpec;

    #[test]
    fn records_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let slice = Slice {
            name: "a".into(),
            spec: SliceSpec::default(),
            created_ms: 1,
            expires_ms: 2,
            cgroup: vec![],
            running_vms: 0,
            usage: None,
            uid: None,
        };
        {
            let s = Store::open(dir.path()).unwrap();
            s.put_slice(&slice).unwrap();
            assert_eq!(s.next_vm_number().unwrap(), 1);
            assert_eq!(s.next_vm_number().unwrap(), 2);
        }
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.slice("a").unwrap(), Some(slice));
        assert_eq!(s.slices().unwrap().len(), 1);
        assert_eq!(s.next_vm_number().unwrap(), 3);
        s.delete_slice("a").unwrap();
        assert_eq!(s.slice("a").unwrap(), None);
    }
}
