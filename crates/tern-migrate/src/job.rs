//! A job shipped to another host (weak mobility, `tern submit`): the program and its
//! files travel, not a running state; the destination starts it as a process VM,
//! streams its output back and says how it ended.
//!
//! ```text
//! S: hello  job  job-file*  go          the program, its files, its stdin
//! D: started  output*  exit  job-file*  finished
//! ```
//!
//! The files of `job.fetch` that the program left in its directory come back as
//! `job-file` messages after `exit`. Every name is one path component: a file is
//! never written outside the job's directory on either side.

/// Most arguments or environment entries of a job.
pub const MAX_ARGS: usize = 4096;
/// Longest argument or environment entry (Linux's `MAX_ARG_STRLEN`).
pub const MAX_ARG: usize = 128 << 10;
/// Most files shipped or fetched.
pub const MAX_FILES: usize = 1024;
/// Longest file name (one path component, as Linux's `NAME_MAX`).
pub const MAX_NAME: usize = 255;
/// Most bytes of file data in one `job-file` message.
pub const MAX_CHUNK: usize = 1 << 20;

/// What to run: a program among the job's files, with its arguments.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Job {
    /// The arguments; `argv[0]` is the name of the program's file among the files.
    pub argv: Vec<String>,
    /// The program's whole environment (`NAME=value`).
    pub env: Vec<String>,
    /// The file among the job's files that is the program's standard input (none:
    /// empty input).
    pub stdin: Option<String>,
    /// Files of the job's directory to send back after the program ended.
    pub fetch: Vec<String>,
}

/// How the program ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobExit {
    /// It exited with this status.
    Code(i32),
    /// A signal ended it.
    Signal(i32),
}

/// Whether `name` is a plain file name: one path component, neither `.` nor `..`,
/// without NUL, at most [`MAX_NAME`] bytes. Both sides check every name they read.
pub fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name != "."
        && name != ".."
        && !name.contains(['/', '\0'])
}

/// Queues the bytes `file` reads as `job-file` messages for file `name` with
/// permission bits `mode` (an empty file as one empty message): the files of a job
/// going out, and the fetched ones coming back.
pub fn send_file(
    conn: &mut crate::Conn,
    name: &str,
    mode: u32,
    file: &mut dyn std::io::Read,
) -> Result<(), crate::WireError> {
    let mut buf = vec![0u8; MAX_CHUNK];
    let mut offset = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 && offset > 0 {
            return Ok(());
        }
        conn.send(&crate::Message::JobFile {
            name: name.to_string(),
            mode,
            offset,
            data: buf[..n].to_vec(),
        })?;
        if n == 0 {
            return Ok(());
        }
        offset += n as u64;
    }
}
