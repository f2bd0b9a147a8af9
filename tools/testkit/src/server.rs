//! Starts and stops a local DynamoDB-compatible server on a free loopback port: moto's server
//! mode (the default), or dynalite (`DYNAMO_ENGINE=dynalite`), a DynamoDB implementation on
//! LevelDB from npm (`make venv` installs it into tools/dynalite/ from its lock file).

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The command that starts moto: `MOTO_SERVER` if set, else the project's virtualenv Python
/// (`make venv` creates it) running `tools/moto/serial_server.py`, moto's server answering one
/// request at a time. moto alone checks a condition and writes in separate steps, each request
/// in its own thread, so two conditional writers of one item can both win under load
/// (measured: 4 rounds in 1,000 of 8 racing writers); DynamoDB never lets them.
pub fn moto_server_command() -> Command {
    match std::env::var_os("MOTO_SERVER") {
        Some(binary) => Command::new(binary),
        None => {
            let mut python = Command::new(venv_python());
            python.arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../moto/serial_server.py"));
            python
        }
    }
}

/// The project's virtualenv Python (`make venv` creates it), for checks made in another
/// language than the code's.
pub fn venv_python() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python")
}

/// The DynamoDB-compatible server the tests run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// moto's server mode: DynamoDB, its streams and transactions, and CloudFormation, S3, IAM
    /// and the rest for the deploy rehearsal. Serves one request at a time (see
    /// [`moto_server_command`]), answers a Query by scanning the table, rolls a cancelled
    /// transaction back by swapping in a copy.
    Moto,
    /// dynalite: DynamoDB on LevelDB, requests served concurrently, Queries by key range. No
    /// transactions and no streams.
    Dynalite,
}

/// What a test may need that an engine may lack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    /// TransactWriteItems (the event store appends several events of one order at once).
    Transactions,
    /// DynamoDB Streams (the stream runner).
    Streams,
    /// Recording requests and replaying them into a restarted server (crash tests).
    Recording,
}

/// The environment variable that chooses the engine: `moto` (default) or `dynalite`.
pub const ENGINE_VARIABLE: &str = "DYNAMO_ENGINE";

impl Engine {
    /// The engine `DYNAMO_ENGINE` names (moto when unset); any other value stops the test with
    /// a message naming it.
    pub fn current() -> Engine {
        match std::env::var(ENGINE_VARIABLE).as_deref() {
            Err(_) | Ok("") | Ok("moto") => Engine::Moto,
            Ok("dynalite") => Engine::Dynalite,
            Ok(other) => panic!("{ENGINE_VARIABLE}={other:?}: the engines are moto and dynalite"),
        }
    }

    /// The one place that says what each engine lacks.
    pub fn lacks(self, capability: Capability) -> bool {
        match self {
            Engine::Moto => false,
            Engine::Dynalite => {
                matches!(capability, Capability::Transactions | Capability::Streams | Capability::Recording)
            }
        }
    }
}

/// Whether this test must be skipped on the current engine because it needs one of
/// `capabilities` (it says so on stderr). Tests that need a capability call this first.
pub fn skip_unless_engine_has(test: &str, capabilities: &[Capability]) -> bool {
    let engine = Engine::current();
    let missing: Vec<_> = capabilities.iter().filter(|c| engine.lacks(**c)).collect();
    if missing.is_empty() {
        return false;
    }
    eprintln!("{test}: skipped on {engine:?}, which lacks {missing:?}");
    true
}

/// dynalite's entry point, installed by `make venv` (`npm ci` in tools/dynalite).
pub fn dynalite_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dynalite/node_modules/dynalite/cli.js")
}

/// A running local server. Dropping it (or the test process ending) stops it.
pub struct LocalDynamo {
    engine: Engine,
    port: u16,
    child: Mutex<Option<Child>>,
    /// moto's request recording, replayed after a crash (see [`LocalDynamo::start_durable`]).
    recording: Option<PathBuf>,
}

impl LocalDynamo {
    /// Starts a server of the current engine ([`Engine::current`]) on a free port and waits
    /// until it answers.
    pub fn start() -> io::Result<Self> {
        Self::start_engine(Engine::current())
    }

    /// Starts moto, whatever the current engine (what only moto serves: CloudFormation,
    /// streams).
    pub fn start_moto() -> io::Result<Self> {
        Self::start_engine(Engine::Moto)
    }

    /// Starts a server of `engine` on a free port (the bench measures both).
    pub fn start_engine(engine: Engine) -> io::Result<Self> {
        // A port found free can be taken before the server binds it (by another process's
        // outgoing connection, say): try a few.
        let mut attempt = 0;
        loop {
            match Self::start_engine_on(engine, free_port()?) {
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && attempt < 5 => attempt += 1,
                other => return other,
            }
        }
    }

    /// Starts moto on `port` (refuses a port something else already listens on): `make run`'s
    /// server, whose stream the local runner reads.
    pub fn start_moto_on(port: u16) -> io::Result<Self> {
        Self::start_engine_on(Engine::Moto, port)
    }

    fn start_engine_on(engine: Engine, port: u16) -> io::Result<Self> {
        // Binding tells whether the port is free (a connect could reach itself on loopback).
        if let Err(e) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
            return Err(io::Error::new(e.kind(), format!("port {port} is not free: {e}")));
        }
        let server = LocalDynamo { engine, port, child: Mutex::new(None), recording: None };
        server.restart()?;
        Ok(server)
    }

    /// A server that survives [`LocalDynamo::crash_and_recover`]: moto records every request
    /// it receives to a file, and a restarted server replays them. A request recorded but cut
    /// off by the crash is applied on recovery, like a write whose answer was lost. Always moto
    /// (dynalite records nothing).
    pub fn start_durable() -> io::Result<Self> {
        let port = free_port()?;
        let recording =
            std::env::temp_dir().join(format!("moto-recording-{}-{port}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&recording);
        let server =
            LocalDynamo { engine: Engine::Moto, port, child: Mutex::new(None), recording: Some(recording) };
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

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The server process, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.lock().expect("server lock").as_ref().map(Child::id)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the server: requests fail until `restart`. Both engines keep data in memory only
    /// here, so a restarted server is empty.
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().expect("server lock").take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// (Re)starts the server on the same port.
    pub fn restart(&self) -> io::Result<()> {
        self.stop();
        let child = spawn_tied_to_process(self.engine, self.port, self.recording.as_deref())?;
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

/// Spawns the server from a thread that never ends, with PR_SET_PDEATHSIG: the kernel kills
/// the server when that thread (so the test process) dies, even if the process is killed.
fn spawn_tied_to_process(
    engine: Engine,
    port: u16,
    recording: Option<&std::path::Path>,
) -> io::Result<Child> {
    let (path, install) = match engine {
        // the program moto_server_command runs: MOTO_SERVER's, or the venv's Python
        Engine::Moto => (PathBuf::from(moto_server_command().get_program()), "moto"),
        Engine::Dynalite => (dynalite_path(), "dynalite"),
    };
    if !path.exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} not found: run `make venv` (make test does it) to install {install}", path.display()),
        ));
    }
    let recording = recording.map(std::path::Path::to_path_buf);
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new().name(format!("{install}-{port}")).spawn(move || {
        let mut command = match engine {
            Engine::Moto => {
                let mut moto = moto_server_command();
                moto.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                moto
            }
            Engine::Dynalite => {
                // tables are ACTIVE at once, as moto's are (DynamoDB's take seconds; the code
                // waits for ACTIVE either way)
                let mut node = Command::new("node");
                node.arg(path).args(["--host", "127.0.0.1", "--port", &port.to_string()]).args([
                    "--createTableMs",
                    "0",
                    "--deleteTableMs",
                    "0",
                    "--updateTableMs",
                    "0",
                ]);
                node
            }
        };
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
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
        format!("the local server did not answer on {port} within {READY_TIMEOUT:?}"),
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
