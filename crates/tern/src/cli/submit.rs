//! `tern submit`: weak mobility, sender-initiated. The program and the files named
//! with `--with` travel to a `tern receive`, which runs the program there as a
//! process VM in a directory of its own; its output streams back while it runs, and
//! `tern submit` ends with the program's exit status (as `ssh HOST PROGRAM` does).
//! Files the program leaves behind come back with `--fetch`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use tern_migrate::job::plain_name;
use tern_migrate::message::PROTOCOL_VERSION;
use tern_migrate::{transport, Conn, Hello, Job, JobExit, Message, Mode, Role};

use super::job_files::FileSink;
use super::migrate::TlsArgs;

/// How long connecting and the receiver's first answers may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Arguments of `tern submit`.
#[derive(Args, Debug)]
pub struct SubmitArgs {
    /// The `tern receive` to run the program: `tcp:HOST:PORT`.
    #[arg(long, value_name = "tcp:HOST:PORT")]
    pub to: String,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// A file to send along, placed beside the program under its own name (repeatable).
    #[arg(long = "with", value_name = "FILE")]
    pub with: Vec<PathBuf>,
    /// A file to send along as the program's standard input (default: empty input).
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// An environment variable of the program, `NAME=value` (repeatable; the
    /// program gets only these).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// A file the program leaves in its directory, to bring back when it ends
    /// (repeatable).
    #[arg(long, value_name = "NAME")]
    pub fetch: Vec<String>,
    /// Where fetched files go.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub fetch_dir: PathBuf,
    /// The riscv64 program and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PROGRAM [ARGS]..."
    )]
    pub command: Vec<OsString>,
}

/// Runs `tern submit`; returns the program's exit status (128 + N when signal N
/// ended it).
pub fn submit(a: SubmitArgs) -> anyhow::Result<i32> {
    let (job, files) = plan(&a)?;
    let security = a.tls.security()?;
    let mut conn = transport::connect(&a.to, &security, CONNECT_TIMEOUT)
        .with_context(|| format!("cannot reach {}", a.to))?;
    conn.set_read_timeout(Some(ANSWER_TIMEOUT));
    let session: [u8; 16] = rand::random();
    conn.send_now(&Message::Hello(Hello {
        protocol: PROTOCOL_VERSION,
        arch: "riscv64".into(),
        tern_version: env!("CARGO_PKG_VERSION").into(),
        session,
        role: Role::Main,
        mode: Mode::Precopy,
    }))?;
    conn.set_session(session);
    conn.send(&Message::Job(job.clone()))?;
    for (name, path) in &files {
        send_file(&mut conn, name, path)?;
    }
    conn.send(&Message::Go)?;
    match conn.recv() {
        Ok(Message::Started) => {}
        Ok(other) => bail!("{}: expected `started`, got `{}`", a.to, other.name()),
        Err(e) => bail!("{} did not start the program: {e}", a.to),
    }
    conn.set_read_timeout(None);
    let exit = follow(&mut conn, &job, &a.fetch_dir)?;
    Ok(match exit {
        JobExit::Code(c) => c,
        JobExit::Signal(s) => {
            eprintln!("tern: signal {s} ended the program on {}", a.to);
            128 + s
        }
    })
}

/// The job and the files to send: (name at the receiver, local path).
fn plan(a: &SubmitArgs) -> anyhow::Result<(Job, Vec<(String, PathBuf)>)> {
    let utf8 = |s: &OsString| {
        s.to_str()
            .map(str::to_string)
            .with_context(|| format!("{s:?} is not UTF-8"))
    };
    let program = PathBuf::from(&a.command[0]);
    let mut files = Vec::new();
    let mut names: HashMap<String, PathBuf> = HashMap::new();
    let mut add = |path: &Path| -> anyhow::Result<String> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{}: no UTF-8 file name", path.display()))?
            .to_string();
        if !plain_name(&name) {
            bail!("{}: not a plain file name", path.display());
        }
        if let Some(other) = names.get(&name) {
            bail!(
                "{} and {} would both be `{name}` at the receiver",
                other.display(),
                path.display()
            );
        }
        names.insert(name.clone(), path.to_path_buf());
        files.push((name.clone(), path.to_path_buf()));
        Ok(name)
    };
    let mut argv = vec![add(&program)?];
    for w in &a.with {
        add(w)?;
    }
    let stdin = a.input.as_deref().map(&mut add).transpose()?;
    for arg in &a.command[1..] {
        argv.push(utf8(arg)?);
    }
    for f in &a.fetch {
        if !plain_name(f) {
            bail!("--fetch {f}: name a file of the program's directory (one path component)");
        }
    }
    for e in &a.env {
        if !e.contains('=') {
            bail!("--env {e}: expected NAME=value");
        }
    }
    let job = Job {
        argv,
        env: a.env.clone(),
        stdin,
        fetch: a.fetch.clone(),
    };
    Ok((job, files))
}

/// Sends one local file in `job-file` messages.
fn send_file(conn: &mut Conn, name: &str, path: &Path) -> anyhow::Result<()> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mode = file.metadata()?.permissions().mode() & 0o777;
    tern_migrate::job::send_file(conn, name, mode, &mut file)
        .with_context(|| format!("cannot send {}", path.display()))
}

/// Writes the program's output here as it comes, then the fetched files; returns
/// how the program ended.
fn follow(conn: &mut Conn, job: &Job, fetch_dir: &Path) -> anyhow::Result<JobExit> {
    let mut exit = None;
    let mut fetched = FileSink::new(fetch_dir.to_path_buf(), true);
    loop {
        match conn.recv()? {
            Message::Output { fd, data } => {
                let written = if fd == 1 {
                    let mut out = std::io::stdout().lock();
                    out.write_all(&data).and_then(|_| out.flush())
                } else {
                    std::io::stderr().write_all(&data)
                };
                written.context("cannot write the program's output")?;
            }
            Message::Exit(x) if exit.is_none() => exit = Some(x),
            Message::JobFile {
                name,
                mode,
                offset,
                data,
            } if exit.is_some() => {
                if !job.fetch.contains(&name) {
                    bail!("the receiver sent `{name}`, which was not asked for");
                }
                fetched
                    .write(&name, mode, offset, &data)
                    .context("a fetched file")?;
            }
            Message::Finished => {
                return exit.context("the receiver finished without saying how the program ended")
            }
            other => bail!("unexpected `{}` from the receiver", other.name()),
        }
    }
}
