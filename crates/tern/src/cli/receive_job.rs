//! `tern receive` of a job (weak mobility, sent by `tern submit`): the program and its
//! files arrive, not a running state. They go into a fresh directory, the program runs
//! there as a process VM (`tern exec --root DIR`: the directory is all it sees), its
//! output streams back as it comes, then how it ended and the files asked for.
//!
//! Everything read from the stream is checked: file names are single path
//! components, files arrive in order, the shipped bytes are bounded (`--job-max`),
//! fetched files are regular files opened without following a link the program may
//! have planted.

use std::fs::OpenOptions;
use std::io::Read;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use anyhow::{bail, Context};
use tern_migrate::job::{plain_name, MAX_CHUNK, MAX_FILES};
use tern_migrate::{Conn, Job, JobExit, Message};

use super::job_files::FileSink;

/// How the destination runs jobs (from `tern receive`'s options).
pub struct JobPolicy {
    /// Where job directories are made.
    pub dir: PathBuf,
    /// Most bytes of files a job may ship.
    pub max_bytes: u64,
    /// `HOST:GUEST` directories the job's program also sees (`tern exec --bind`).
    pub binds: Vec<String>,
    /// Whether the job's tern runs sandboxed.
    pub sandboxed: bool,
}

/// Runs the job that arrived from `peer` on `conn`. Returns this process's exit
/// status: 0 when the job ran (whatever its own status, which the submitter gets),
/// 1 when it could not be started.
pub fn run(job: Job, mut conn: Conn, peer: SocketAddr, policy: &JobPolicy) -> i32 {
    let dir = match JobDir::create(&policy.dir) {
        Ok(d) => d,
        Err(e) => {
            let why = format!("{e:#}");
            eprintln!("tern: the job from {peer} cannot run here: {why}");
            conn.send_error(&why);
            return 1;
        }
    };
    match serve(&job, &mut conn, &dir.0, policy) {
        Ok(exit) => {
            eprintln!("tern: the job from {peer} ended: {exit:?}");
            0
        }
        Err(e) => {
            let why = format!("{e:#}");
            eprintln!("tern: the job from {peer}: {why}");
            conn.send_error(&why);
            1
        }
    }
}

/// A job's directory, removed with everything in it when the job is done.
struct JobDir(PathBuf);

impl JobDir {
    fn create(parent: &Path) -> anyhow::Result<JobDir> {
        let name = format!(
            "tern-job-{}-{:08x}",
            std::process::id(),
            super::migrate::rand_suffix()
        );
        let path = std::path::absolute(parent.join(name))?;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .with_context(|| format!("cannot create the job directory {}", path.display()))?;
        Ok(JobDir(path))
    }
}

impl Drop for JobDir {
    fn drop(&mut self) {
        // remove_dir_all does not follow the links the program may have left.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn serve(job: &Job, conn: &mut Conn, dir: &Path, policy: &JobPolicy) -> anyhow::Result<JobExit> {
    check_job(job)?;
    receive_files(conn, dir, policy.max_bytes)?;
    let program = &job.argv[0];
    if !dir.join(program).is_file() {
        bail!("the program `{program}` was not among the files sent");
    }
    let mut child = spawn(job, dir, policy)?;
    conn.send_now(&Message::Started)?;
    conn.set_read_timeout(None);
    let exit = relay(&mut child, conn)?;
    conn.send(&Message::Exit(exit))?;
    for name in &job.fetch {
        if let Err(e) = send_file(conn, dir, name) {
            let note = format!("tern: the receiver cannot send back `{name}`: {e:#}\n");
            conn.send(&Message::Output {
                fd: 2,
                data: note.into_bytes(),
            })?;
        }
    }
    conn.send_now(&Message::Finished)?;
    Ok(exit)
}

fn check_job(job: &Job) -> anyhow::Result<()> {
    let Some(program) = job.argv.first() else {
        bail!("the job names no program");
    };
    let names = std::iter::once(program)
        .chain(job.stdin.iter())
        .chain(job.fetch.iter());
    for name in names {
        if !plain_name(name) {
            bail!("`{name}` is not a plain file name (one path component)");
        }
    }
    if job.env.iter().any(|e| !e.contains('=') || e.contains('\0')) {
        bail!("an environment entry is not NAME=value");
    }
    if job.argv.iter().any(|a| a.contains('\0')) {
        bail!("an argument contains a NUL byte");
    }
    Ok(())
}

/// Writes the `job-file` messages up to `go` into `dir`.
fn receive_files(conn: &mut Conn, dir: &Path, max_bytes: u64) -> anyhow::Result<()> {
    let mut files = FileSink::new(dir.to_path_buf(), false);
    let mut total = 0u64;
    loop {
        match conn.recv()? {
            Message::JobFile {
                name,
                mode,
                offset,
                data,
            } => {
                if !plain_name(&name) {
                    bail!("`{name}` is not a plain file name (one path component)");
                }
                if !files.contains(&name) && files.len() >= MAX_FILES {
                    bail!("more than {MAX_FILES} files");
                }
                total += data.len() as u64;
                if total > max_bytes {
                    bail!("the job's files exceed this receiver's limit of {max_bytes} bytes (--job-max)");
                }
                files.write(&name, mode, offset, &data)?;
            }
            Message::Go => return Ok(()),
            other => bail!("expected `job-file` or `go`, got `{}`", other.name()),
        }
    }
}

/// Starts the program as a process VM confined to `dir`.
fn spawn(job: &Job, dir: &Path, policy: &JobPolicy) -> anyhow::Result<Child> {
    let tern = std::env::current_exe().context("cannot find this tern's binary")?;
    let mut c = Command::new(tern);
    c.arg("exec").arg("--root").arg(dir);
    for b in &policy.binds {
        c.arg("--bind").arg(b);
    }
    if !policy.sandboxed {
        c.arg("--no-sandbox");
    }
    let program = &job.argv[0];
    c.arg("--argv0")
        .arg(program)
        .arg("--")
        .arg(format!("/{program}"))
        .args(&job.argv[1..]);
    c.env_clear().current_dir(dir);
    for e in &job.env {
        if let Some((k, v)) = e.split_once('=') {
            c.env(k, v);
        }
    }
    c.stdin(match &job.stdin {
        Some(name) => Stdio::from(
            OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(dir.join(name))
                .with_context(|| format!("the standard input `{name}`"))?,
        ),
        None => Stdio::null(),
    });
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c.spawn().context("cannot start the job's tern exec")
}

/// What the relay waits for.
enum Event {
    /// Bytes from the program's fd 1 or 2 (none: that stream ended).
    Output(u8, Vec<u8>),
    /// The submitter closed the connection or sent something: it gave up.
    Gone,
}

/// Streams the program's output to the submitter until both streams end, then
/// waits for it. Kills it if the submitter goes away.
fn relay(child: &mut Child, conn: &mut Conn) -> anyhow::Result<JobExit> {
    let (tx, rx) = mpsc::channel();
    let pipes: [(u8, Box<dyn Read + Send>); 2] = [
        (1, Box::new(child.stdout.take().expect("piped"))),
        (2, Box::new(child.stderr.take().expect("piped"))),
    ];
    for (fd, mut pipe) in pipes {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 << 10];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(Event::Output(fd, buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send(Event::Output(fd, Vec::new()));
        });
    }
    if let Some(sock) = conn.socket() {
        let tx = tx.clone();
        std::thread::spawn(move || loop {
            match sock.peek(&mut [0u8; 1]) {
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                _ => {
                    let _ = tx.send(Event::Gone);
                    return;
                }
            }
        });
    }
    drop(tx);
    let mut open = 2;
    while open > 0 {
        let Ok(event) = rx.recv() else { break };
        let mut batch = vec![event];
        batch.extend(rx.try_iter());
        for event in batch {
            match event {
                Event::Output(_, data) if data.is_empty() => open -= 1,
                Event::Output(fd, data) => {
                    for chunk in data.chunks(MAX_CHUNK) {
                        conn.send(&Message::Output {
                            fd,
                            data: chunk.to_vec(),
                        })?;
                    }
                }
                Event::Gone => {
                    let _ = child.kill();
                    let _ = child.wait();
                    bail!("the submitter went away; the job was killed");
                }
            }
        }
        conn.flush()?;
    }
    let status = child.wait().context("waiting for the job")?;
    Ok(match (status.code(), status.signal()) {
        (Some(c), _) => JobExit::Code(c),
        (None, Some(s)) => JobExit::Signal(s),
        (None, None) => JobExit::Code(255),
    })
}

/// Sends file `name` of `dir` back: a regular file, not a link.
fn send_file(conn: &mut Conn, dir: &Path, name: &str) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(dir.join(name))
        .context("cannot open it (a link is not followed)")?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        bail!("not a regular file");
    }
    let mode = meta.permissions().mode() & 0o777;
    tern_migrate::job::send_file(conn, name, mode, &mut file)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use tern_migrate::message::PROTOCOL_VERSION;
    use tern_migrate::{Hello, Mode, Role};

    /// Bytes to read, a sink for what is written.
    struct Replay(std::io::Cursor<Vec<u8>>);

    impl Read for Replay {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0.read(buf)
        }
    }

    impl Write for Replay {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A connection that reads `messages` (after a hello), as a submitter sent them.
    fn stream(messages: &[Message]) -> Conn {
        let hello = Message::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            arch: "riscv64".into(),
            tern_version: "test".into(),
            session: [3; 16],
            role: Role::Main,
            mode: Mode::Precopy,
        });
        let mut all = vec![hello];
        all.extend_from_slice(messages);
        let bytes = tern_migrate::wire::encode_all(&all);
        let mut conn = Conn::new(Box::new(Replay(std::io::Cursor::new(bytes))), None);
        assert!(matches!(conn.recv(), Ok(Message::Hello(_))));
        conn.set_session([3; 16]);
        conn
    }

    fn file(name: &str, offset: u64, data: &[u8]) -> Message {
        Message::JobFile {
            name: name.into(),
            mode: 0o4755,
            offset,
            data: data.to_vec(),
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tern-job-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("job")).expect("scratch");
        d
    }

    #[test]
    fn files_arrive_in_order_without_setuid_bits() {
        let d = scratch("order");
        let mut conn = stream(&[
            file("a", 0, b"he"),
            file("a", 2, b"llo"),
            file("e", 0, b""),
            Message::Go,
        ]);
        receive_files(&mut conn, &d.join("job"), 100).expect("received");
        assert_eq!(std::fs::read(d.join("job/a")).expect("a"), b"hello");
        assert_eq!(std::fs::read(d.join("job/e")).expect("e"), b"");
        let mode = std::fs::metadata(d.join("job/a"))
            .expect("a")
            .permissions()
            .mode();
        assert_eq!(mode & 0o7000, 0, "{mode:o}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn hostile_file_messages_write_nothing_outside_the_job() {
        let cases: [(&str, Vec<Message>, &str); 6] = [
            ("dotdot", vec![file("..", 0, b"x")], "plain file name"),
            (
                "escape",
                vec![file("../outside", 0, b"x")],
                "plain file name",
            ),
            (
                "absolute",
                vec![file("/tmp/outside", 0, b"x")],
                "plain file name",
            ),
            ("gap", vec![file("a", 5, b"x")], "expected"),
            (
                "rewrite",
                vec![file("a", 0, b"xy"), file("a", 0, b"z")],
                "expected",
            ),
            (
                "limit",
                vec![file("a", 0, &[0; 60]), file("b", 0, &[0; 60])],
                "--job-max",
            ),
        ];
        for (name, messages, want) in cases {
            let d = scratch(name);
            let mut all = messages;
            all.push(Message::Go);
            let e = receive_files(&mut stream(&all), &d.join("job"), 100)
                .expect_err(name)
                .to_string();
            assert!(e.contains(want), "{name}: {e}");
            let mut outside: Vec<_> = std::fs::read_dir(&d)
                .expect("scratch")
                .map(|e| e.expect("entry").file_name())
                .collect();
            outside.sort();
            assert_eq!(outside, ["job"], "{name}");
            let _ = std::fs::remove_dir_all(&d);
        }
    }

    #[test]
    fn a_file_planted_as_a_link_before_the_job_is_not_followed() {
        let d = scratch("planted");
        std::fs::write(d.join("target"), b"host").expect("target");
        std::os::unix::fs::symlink(d.join("target"), d.join("job/a")).expect("link");
        let mut conn = stream(&[file("a", 0, b"guest"), Message::Go]);
        assert!(receive_files(&mut conn, &d.join("job"), 100).is_err());
        assert_eq!(std::fs::read(d.join("target")).expect("target"), b"host");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn jobs_naming_files_outside_their_directory_are_refused() {
        let job = |argv: &[&str], stdin: Option<&str>, fetch: &[&str]| Job {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: vec!["A=1".into()],
            stdin: stdin.map(str::to_string),
            fetch: fetch.iter().map(|s| s.to_string()).collect(),
        };
        assert!(check_job(&job(&["prog", "../x"], Some("in"), &["out"])).is_ok());
        assert!(check_job(&job(&[], None, &[])).is_err());
        assert!(check_job(&job(&["../prog"], None, &[])).is_err());
        assert!(check_job(&job(&["/bin/sh"], None, &[])).is_err());
        assert!(check_job(&job(&["prog"], Some("../../etc/shadow"), &[])).is_err());
        assert!(check_job(&job(&["prog"], None, &["/etc/shadow"])).is_err());
        let mut no_value = job(&["prog"], None, &[]);
        no_value.env = vec!["A".into()];
        assert!(check_job(&no_value).is_err());
    }
}
