//! Which host files a qcow2 image may open besides itself.
//!
//! A qcow2 header can name a backing image (read for every cluster the image does not
//! hold) and an external data file (which holds the guest's data, and so is written).
//! Whoever wrote the header chose those names: for an image a guest could write (a
//! raw disk taken for qcow2, or a raw backing file probed as qcow2), that is the guest,
//! and opening what it names would hand it any host file. So tern opens only the
//! files the user named on the command line ([`NamedFiles`], `--drive
//! ...,backing=PATH,data-file=PATH`), compared by device and inode (a header may name
//! a user-named file through another path or a symlink), and refuses any other with a
//! message saying what to add.
//!
//! Rules on top of imago's own opening (through its `ImplicitOpenGate` hook, which
//! every implicitly referenced file passes):
//! - backing images, at any depth, are opened read-only;
//! - an external data file is writable only for the top image, and only when the
//!   disk is writable (imago asks for every data file writable);
//! - a backing chain is at most [`MAX_BACKING_CHAIN`] images below the top one, and
//!   no image appears in it twice (an image that is its own backing file would
//!   otherwise recurse until the stack overflows).

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use imago::file::File as ImagoFile;
use imago::format::gate::ImplicitOpenGate;
use imago::format::Format;
use imago::qcow2::Qcow2;
use imago::{FormatAccess, FormatDriverBuilder, StorageOpenOptions};

/// Most backing images below a qcow2 image (QEMU itself allows deep chains; tern's
/// images are a base and a few overlays, and each level must be named anyway).
pub const MAX_BACKING_CHAIN: usize = 16;

/// The files the user allows a qcow2 image's header to refer to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamedFiles {
    /// Backing images, at any depth of the chain (opened read-only).
    pub backing: Vec<PathBuf>,
    /// The external data file of the image (`data_file` in `qemu-img create -o`).
    pub data_file: Option<PathBuf>,
}

impl NamedFiles {
    /// Whether no file is named.
    pub fn is_empty(&self) -> bool {
        self.backing.is_empty() && self.data_file.is_none()
    }
}

/// A file's identity: a header naming the file through another path still matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileKey {
    dev: u64,
    ino: u64,
}

impl FileKey {
    fn of(m: &std::fs::Metadata) -> FileKey {
        FileKey {
            dev: m.dev(),
            ino: m.ino(),
        }
    }
}

/// What the gate knows while one image and its references are opened.
struct GateState {
    image: PathBuf,
    backing: Vec<FileKey>,
    data_file: Option<FileKey>,
    writable: bool,
    /// The top image and every backing image opened so far, top first.
    chain: Vec<FileKey>,
    /// How many backing images are being opened around the current request (0: the
    /// top image's own references).
    nesting: usize,
}

/// imago's hook for implicitly referenced files, allowing only [`NamedFiles`].
#[derive(Clone)]
struct NamedFilesGate(Rc<RefCell<GateState>>);

fn stat_named(option: &str, path: &Path) -> io::Result<FileKey> {
    std::fs::metadata(path)
        .map(|m| FileKey::of(&m))
        .map_err(|e| io::Error::new(e.kind(), format!("{option}={}: {e}", path.display())))
}

/// Opens the qcow2 image at `path` (writable or not), allowing its header to refer only
/// to the files in `named` (see the module documentation).
pub fn open_qcow2(
    path: &Path,
    writable: bool,
    named: &NamedFiles,
) -> io::Result<FormatAccess<ImagoFile>> {
    let backing = named
        .backing
        .iter()
        .map(|p| stat_named("backing", p))
        .collect::<io::Result<Vec<_>>>()?;
    let data_file = named
        .data_file
        .as_deref()
        .map(|p| stat_named("data-file", p))
        .transpose()?;
    let file = OpenOptions::new().read(true).write(writable).open(path)?;
    let top = FileKey::of(&file.metadata()?);
    let storage = ImagoFile::from_open_file(
        file,
        StorageOpenOptions::new().filename(path).write(writable),
    )?;
    let gate = NamedFilesGate(Rc::new(RefCell::new(GateState {
        image: path.to_path_buf(),
        backing,
        data_file,
        writable,
        chain: vec![top],
        nesting: 0,
    })));
    let q = Qcow2::<ImagoFile>::builder(storage)
        .write(writable)
        .open(gate)?;
    Ok(FormatAccess::new(q))
}

impl NamedFilesGate {
    /// Checks a file the image refers to and says whether it may be written.
    fn admit(&self, name: &Path, data_file: bool, key: FileKey) -> io::Result<bool> {
        let mut st = self.0.borrow_mut();
        let image = st.image.display().to_string();
        let denied = |what: &str, option: &str| {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{image}: a qcow2 header in its chain names the {what} {name}, which the \
                     command line does not name; add {option}={name} to --drive if you trust \
                     this image (a guest can write such a header into a raw disk)",
                    name = name.display()
                ),
            )
        };
        if data_file {
            if st.data_file != Some(key) {
                return Err(denied("external data file", "data-file"));
            }
            return Ok(st.writable && st.nesting == 0);
        }
        if !st.backing.contains(&key) {
            return Err(denied("backing file", "backing"));
        }
        if st.chain.contains(&key) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{image}: the backing chain loops: {} is already in it",
                    name.display()
                ),
            ));
        }
        if st.chain.len() > MAX_BACKING_CHAIN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{image}: the backing chain is longer than {MAX_BACKING_CHAIN} images"),
            ));
        }
        st.chain.push(key);
        Ok(false)
    }
}

impl ImplicitOpenGate<ImagoFile> for NamedFilesGate {
    fn open_format<F: FormatDriverBuilder<ImagoFile>>(
        &mut self,
        builder: F,
    ) -> io::Result<FormatAccess<ImagoFile>> {
        if !matches!(F::FORMAT, Format::Qcow2 | Format::Raw) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("backing format {:?} is not supported", F::FORMAT),
            ));
        }
        // The backing image's own references come through this gate again, one level
        // deeper; no borrow is held across the call.
        self.0.borrow_mut().nesting += 1;
        let opened = builder.write(false).open(self.clone());
        self.0.borrow_mut().nesting -= 1;
        Ok(FormatAccess::new(opened?))
    }

    /// imago asks for an external data file writable and for a backing file read-only
    /// (`Qcow2::open_implicit_data_file` / `open_implicit_backing_file`): that is how
    /// the two are told apart; what is then opened follows the rules above.
    fn open_storage(&mut self, opts: StorageOpenOptions) -> io::Result<ImagoFile> {
        let name = opts
            .get_filename()
            .map(Path::to_path_buf)
            .ok_or_else(|| io::Error::other("a referenced file has no name"))?;
        let data_file = opts.get_writable();
        let key = match std::fs::metadata(&name) {
            Ok(m) => FileKey::of(&m),
            Err(e) => {
                let st = self.0.borrow();
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "{}: a qcow2 header in its chain names {}, which cannot be opened: {e}",
                        st.image.display(),
                        name.display()
                    ),
                ));
            }
        };
        let write = self.admit(&name, data_file, key)?;
        let file: File = OpenOptions::new().read(true).write(write).open(&name)?;
        if FileKey::of(&file.metadata()?) != key {
            return Err(io::Error::other(format!(
                "{} changed while it was being opened",
                name.display()
            )));
        }
        ImagoFile::from_open_file(file, opts.write(write))
    }
}
