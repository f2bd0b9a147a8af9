//! Starts and stops moto's server mode on a free loopback port.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// `MOTO_SERVER` if set, else the project's virtualenv (`make venv` creates it).
pub fn moto_server_path() -> PathBuf {
    std::env::var_os("MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server"))
}

/// The project's virtualenv Python (`make venv` creates it), for checks made in another
/// language than the code's.
pub fn venv_python() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python")
}

/// A running moto server. Dropping it (or the test process ending) stops it.
pub struct LocalDynamo {
    port: u16,
    child: Mutex<Option<Child>>,
    /// moto's request recording, replayed after a crash (see [`LocalDynamo::start_durable`]).
    recording: Option<PathBuf>,
}

impl LocalDynamo {
    /// Starts a server on a free port and waits until it answers.
    pub fn start() -> io::Result<Self> {
        // A port found free can be taken before the server binds it (by another process's
        // outgoing connection, say): try a few.
        let mut attempt = 0;
        loop {
            match Self::start_on(free_port()?) {
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && attempt < 5 => attempt += 1,
                other => return other,
            }
        }
    }

    /// Starts a server on `port` (refuses a port something else already listens on).
    pub fn start_on(port: u16) -> io::Result<Self> {
        // Binding tells whether the port is free (a connect could reach itself on loopback).
        if let Err(e) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
            return Err(io::Error::new(e.kind(), format!("port {port} is not free: {e}")));
        }
        let server = LocalDynamo { port, child: Mutex::new(None), recording: None };
        server.restart()?;
        Ok(server)
    }

    /// A server that survives [`LocalDynamo::crash_and_recover`]: moto records every request
    /// it receives to a file, and a restarted server replays them. A request recorded but cut
    /// off by the crash is applied on recovery, like a write whose answer was lost.
    pub fn start_durable() -> io::Result<Self> {
        let port = free_port()?;
        let recording =
            std::env::temp_dir().join(format!("moto-recording-{}-{port}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&recording);
        let server = LocalDynamo { port, child: Mutex::new(None), recording: Some(recording) };
        server.restart()?;
        Ok(server)
    }

    /// Kills the server with SIGKILL, starts a new one on the same port and replays the
    /// recording into it. Panics on a server not started durable.
    pub fn crash_and_recover(&self) -> io::Result<()> {
        self.stop();
        self.recover()
    }

    /// After [`LocalDynamo::stop`] (a crash): a new server with every recorded request
    /// replayed. Panics on a server not started durable.
    pub fn recover(&self) -> io::Result<()> {
        assert!(self.recording.is_some(), "recover needs LocalDynamo::start_durable");
        self.restart()?;
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(300)))?;
        // moto replays to the host this request names: name the server itself.
        let request = format!(
            "POST /moto-api/recorder/replay-recording HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        stream.write_all(request.as_bytes())?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        if !answer.starts_with("HTTP/1.1 200") {
            let log = self.recording.as_ref().map(|r| r.with_extension("log")).unwrap_or_default();
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            return Err(io::Error::other(format!(
                "replay failed: {}\n{}",
                answer.lines().next().unwrap_or(""),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )));
        }
        Ok(())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server process, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.lock().expect("server lock").as_ref().map(Child::id)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the server: requests fail until `restart`. moto keeps data in memory only, so a
    /// restarted server is empty.
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().expect("server lock").take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// (Re)starts the server on the same port.
    pub fn restart(&self) -> io::Result<()> {
        self.stop();
        let child = spawn_tied_to_process(self.port, self.recording.as_deref())?;
        *self.child.lock().expect("server lock") = Some(child);
        wait_until_ready(self.port)
    }
}

impl Drop for LocalDynamo {
    fn drop(&mut self) {
        self.stop();
        if let Some(recording) = &self.recording {
            let _ = std::fs::remove_file(recording);
            let _ = std::fs::remove_file(recording.with_extension("log"));
        }
    }
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

/// Spawns moto from a thread that never ends, with PR_SET_PDEATHSIG: the kernel kills the
/// server when that thread (so the test process) dies, even if the process is killed.
fn spawn_tied_to_process(port: u16, recording: Option<&std::path::Path>) -> io::Result<Child> {
    let path = moto_server_path();
    if !path.exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} not found: run `make venv` (make test does it) to install moto", path.display()),
        ));
    }
    let recording = recording.map(std::path::Path::to_path_buf);
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new().name(format!("moto-{port}")).spawn(move || {
        let mut command = Command::new(path);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(path) = &recording {
            command.env("MOTO_ENABLE_RECORDING", "True").env("MOTO_RECORDER_FILEPATH", path);
            // the server's own log, for a replay that fails
            if let Ok(log) = std::fs::File::create(path.with_extension("log")) {
                command.stderr(log);
            }
        }
        // Its own process group: a Ctrl-C at the terminal reaches us, and we stop it in order.
        command.process_group(0);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let _ = tx.send(command.spawn());
        loop {
            std::thread::park();
        }
    })?;
    rx.recv().map_err(|e| io::Error::other(e.to_string()))?
}

fn wait_until_ready(port: u16) -> io::Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + READY_TIMEOUT;
    while Instant::now() < deadline {
        if answers_http(&addr) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("moto_server did not answer on {port} within {READY_TIMEOUT:?}"),
    ))
}

/// An HTTP answer, not just an open port: a loopback connect can reach itself.
fn answers_http(addr: &SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(addr, Duration::from_millis(200)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 8];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}
