//! The files of a job arriving as `job-file` messages (see `tern_migrate::job`),
//! written into one directory: the job's files at the receiver, the fetched ones at
//! the submitter. Each file comes in order from its first byte, and is created
//! without following a link and with its permission bits only. The callers check
//! the names and the limits first.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use anyhow::{bail, Context};

/// Files being written into a directory, with the bytes each has so far.
pub struct FileSink {
    dir: PathBuf,
    /// Replace a file already there (the submitter's fetch directory) rather than
    /// refuse it (the receiver's fresh job directory).
    replace: bool,
    files: HashMap<String, (File, u64)>,
}

impl FileSink {
    /// Writes into `dir`; `replace`: an existing file of the same name is emptied.
    pub fn new(dir: PathBuf, replace: bool) -> FileSink {
        FileSink {
            dir,
            replace,
            files: HashMap::new(),
        }
    }

    /// How many files were begun.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether file `name` was begun.
    pub fn contains(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// Writes `data` at `offset` of file `name` (a plain name the caller checked),
    /// which must be where its bytes so far end; the first bytes create the file
    /// with permission bits `mode`.
    pub fn write(&mut self, name: &str, mode: u32, offset: u64, data: &[u8]) -> anyhow::Result<()> {
        let so_far = self.files.get(name).map_or(0, |f| f.1);
        if offset != so_far {
            bail!("file `{name}`: bytes at {offset}, {so_far} expected");
        }
        if !self.files.contains_key(name) {
            let path = self.dir.join(name);
            let mut open = OpenOptions::new();
            open.write(true)
                .mode(mode & 0o777)
                .custom_flags(libc::O_NOFOLLOW);
            if self.replace {
                open.create(true).truncate(true);
            } else {
                open.create_new(true);
            }
            let file = open
                .open(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            self.files.insert(name.to_string(), (file, 0));
        }
        let entry = self.files.get_mut(name).expect("begun above");
        entry
            .0
            .write_all(data)
            .with_context(|| format!("cannot write `{name}`"))?;
        entry.1 += data.len() as u64;
        Ok(())
    }
}
