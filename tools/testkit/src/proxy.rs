//! A TCP proxy in front of the local server that injects network faults without losing the
//! server's data: cut every connection (the database went away), stall (requests hang until
//! the client's timeout), or lose responses (the write landed, its answer did not); and
//! latency: a delay on every request and every response, as a network in between would add
//! (or on one direction only, to order a read between two writes).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    /// Requests still allowed before the proxy cuts itself; negative: unlimited.
    budget: Arc<AtomicI64>,
    /// Requests are swallowed, never answered.
    stalled: Arc<AtomicBool>,
    /// Responses still to be dropped (the connection is closed instead of answering).
    lose: Arc<AtomicI64>,
    /// Microseconds each request is held before it is passed on.
    request_delay_us: AtomicU64,
    /// Microseconds each answer is held before it is passed back.
    answer_delay_us: AtomicU64,
    up: watch::Sender<bool>,
    accept: std::sync::Mutex<Option<JoinHandle<()>>>,
    /// Accept loops aborted by `cut`, awaited by `restore` so the port is free again.
    aborted: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl Proxy {
    /// A proxy on a free port forwarding to `upstream` (e.g. the shared server's port).
    pub async fn start(upstream_port: u16) -> Arc<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (up, _) = watch::channel(true);
        let proxy = Arc::new(Proxy {
            addr,
            upstream: SocketAddr::from(([127, 0, 0, 1], upstream_port)),
            budget: Arc::new(AtomicI64::new(-1)),
            stalled: Arc::new(AtomicBool::new(false)),
            lose: Arc::new(AtomicI64::new(0)),
            request_delay_us: AtomicU64::new(0),
            answer_delay_us: AtomicU64::new(0),
            up,
            accept: std::sync::Mutex::new(None),
            aborted: std::sync::Mutex::new(Vec::new()),
        });
        proxy.serve(listener);
        proxy
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Cuts after `requests` more requests.
    pub fn cut_after(&self, requests: i64) {
        self.budget.store(requests, Ordering::SeqCst);
    }

    /// Closes every connection and the port: requests fail as if the server had died.
    pub fn cut(&self) {
        self.budget.store(0, Ordering::SeqCst);
        self.up.send_replace(false);
        if let Some(task) = self.accept.lock().expect("proxy lock").take() {
            task.abort();
            self.aborted.lock().expect("proxy lock").push(task);
        }
    }

    /// Requests reach nothing and get no answer until [`Proxy::unstall`]: the client's
    /// attempt timeout is what ends them.
    pub fn stall(&self) {
        self.stalled.store(true, Ordering::SeqCst);
    }

    pub fn unstall(&self) {
        self.stalled.store(false, Ordering::SeqCst);
    }

    /// The next `responses` requests reach the server, but their answers are dropped and the
    /// connection closed: the client cannot know whether its write happened.
    pub fn lose_responses(&self, responses: i64) {
        self.lose.store(responses, Ordering::SeqCst);
    }

    /// Holds every request for `delay` before passing it to the server, and every answer for
    /// `delay` before passing it back: a round trip takes `2 × delay` more, as between a
    /// function and DynamoDB in its region. Zero turns it off.
    pub fn delay_each_way(&self, delay: Duration) {
        self.delay_requests(delay);
        self.delay_answers(delay);
    }

    /// Holds every request for `delay`: the server reads later than the client asked.
    pub fn delay_requests(&self, delay: Duration) {
        self.request_delay_us.store(delay.as_micros() as u64, Ordering::SeqCst);
    }

    /// Holds every answer for `delay`: the server has read, and the client learns it later.
    pub fn delay_answers(&self, delay: Duration) {
        self.answer_delay_us.store(delay.as_micros() as u64, Ordering::SeqCst);
    }

    fn delay(us: &AtomicU64) -> Option<Duration> {
        let us = us.load(Ordering::SeqCst);
        (us > 0).then(|| Duration::from_micros(us))
    }

    /// Listens again on the same port.
    pub async fn restore(self: &Arc<Self>) {
        self.cut();
        self.unstall();
        self.budget.store(-1, Ordering::SeqCst);
        let aborted: Vec<_> = self.aborted.lock().expect("proxy lock").drain(..).collect();
        for task in aborted {
            let _ = task.await; // the listener is dropped with it
        }
        let listener = TcpListener::bind(self.addr).await.expect("rebind proxy");
        self.up.send_replace(true);
        self.serve(listener);
    }

    fn serve(self: &Arc<Self>, listener: TcpListener) {
        let me = Arc::clone(self);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let me = Arc::clone(&me);
                tokio::spawn(async move { me.pipe(client).await });
            }
        });
        *self.accept.lock().expect("proxy lock") = Some(task);
    }

    async fn pipe(self: Arc<Self>, client: TcpStream) {
        let mut down = self.up.subscribe();
        if !*down.borrow() {
            return;
        }
        let Ok(server) = TcpStream::connect(self.upstream).await else { return };
        let (mut cr, mut cw) = client.into_split();
        let (mut sr, mut sw) = server.into_split();
        let budget = Arc::clone(&self.budget);
        let me = Arc::clone(&self);
        let to_server = async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match cr.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                // Each SDK request starts with "POST / HTTP/1.1".
                let requests = buf[..n].windows(5).filter(|w| w == b"POST ").count() as i64;
                let limited = requests > 0 && budget.load(Ordering::SeqCst) >= 0;
                if limited && budget.fetch_sub(requests, Ordering::SeqCst) - requests < 0 {
                    me.cut();
                    break;
                }
                if me.stalled.load(Ordering::SeqCst) {
                    continue;
                }
                if let Some(delay) = Self::delay(&me.request_delay_us).filter(|_| requests > 0) {
                    tokio::time::sleep(delay).await;
                }
                if sw.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        };
        let lose = Arc::clone(&self.lose);
        let me = Arc::clone(&self);
        let to_client = async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match sr.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                // Responses are small and one request is in flight per connection, so the
                // first chunk after a request starts its answer.
                let take_one = |left: i64| (left > 0).then(|| left - 1);
                let answer = buf[..n].starts_with(b"HTTP/1.");
                if answer && lose.fetch_update(Ordering::SeqCst, Ordering::SeqCst, take_one).is_ok() {
                    break;
                }
                if let Some(delay) = Self::delay(&me.answer_delay_us).filter(|_| answer) {
                    tokio::time::sleep(delay).await;
                }
                if cw.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        };
        tokio::select! {
            _ = to_server => {}
            _ = to_client => {}
            _ = down.wait_for(|up| !*up) => {}
        }
    }
}
