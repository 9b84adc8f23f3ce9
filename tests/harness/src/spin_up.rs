//! The real `spin` CLI running the project's `spin.toml`: what the wasmtime harness stands in
//! for, checked against the runtime itself (Spin 4.x locally, Spin 3.6 as SpinKube's shim
//! embeds it).
//!
//! Which binaries: `FACTEUR_SPIN_BINS` (colon-separated paths), else `spin` and any `spin-3.*`
//! on `PATH` or in `~/.local/bin` (where `install-spin` puts them). Without one, tests skip
//! with a loud message, and fail where `CI` is set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::Full;

use crate::Response;
use crate::support::{eventually, free_port, manifest_path};

/// One `spin` binary and the version it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpinBinary {
    pub path: PathBuf,
    pub version: String,
}

impl SpinBinary {
    /// Every Spin to test on; empty (after a loud message) when none is installed outside CI.
    pub fn all() -> &'static [SpinBinary] {
        static FOUND: OnceLock<Vec<SpinBinary>> = OnceLock::new();
        FOUND.get_or_init(|| {
            let found: Vec<SpinBinary> = candidates().into_iter().filter_map(|path| Self::probe(&path)).collect();
            if found.is_empty() {
                let why = "no `spin` found (FACTEUR_SPIN_BINS, PATH, ~/.local/bin): the real-Spin suite did not run. \
                           Install Spin 3.x or 4.x (https://spinframework.dev/install)";
                if std::env::var_os("CI").is_some() {
                    panic!("{why}; CI must run it");
                }
                eprintln!("\n!!!!! SKIPPED: {why} !!!!!\n");
            }
            found
        })
    }

    /// The newest Spin found (the one `spin up` means on a developer's machine).
    pub fn newest() -> Option<&'static SpinBinary> {
        Self::all().first()
    }

    fn probe(path: &Path) -> Option<Self> {
        let output = Command::new(path).arg("--version").output().ok()?;
        let text = String::from_utf8_lossy(&output.stdout);
        let version = text.split_whitespace().nth(1)?.to_owned();
        output.status.success().then(|| Self { path: path.to_owned(), version })
    }

    /// Runs `spin build` on the project's manifest, once per binary and process.
    pub fn build(&self) -> Result<()> {
        static BUILT: OnceLock<std::sync::Mutex<Vec<PathBuf>>> = OnceLock::new();
        let mut built = BUILT.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        if built.contains(&self.path) {
            return Ok(());
        }
        let output = Command::new(&self.path)
            .args(["build", "--from"])
            .arg(manifest_path())
            .output()
            .with_context(|| format!("running {} build", self.path.display()))?;
        if !output.status.success() {
            bail!(
                "`spin build` failed:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        built.push(self.path.clone());
        Ok(())
    }

    pub fn up(&self) -> SpinUpBuilder {
        SpinUpBuilder {
            spin: self.clone(),
            manifest: manifest_path(),
            variables: BTreeMap::new(),
            components: Vec::new(),
            runtime_config: None,
            env: Vec::new(),
            log_files: true,
        }
    }
}

fn candidates() -> Vec<PathBuf> {
    if let Some(list) = std::env::var_os("FACTEUR_SPIN_BINS") {
        return std::env::split_paths(&list).collect();
    }
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".local/bin"));
    }
    let mut newest = None;
    let mut older = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        for name in names {
            let path = dir.join(&name);
            if name == "spin" && newest.is_none() {
                newest = Some(path);
            } else if name.starts_with("spin-3.") && !older.iter().any(|p: &PathBuf| p.file_name() == path.file_name())
            {
                older.push(path);
            }
        }
    }
    newest.into_iter().chain(older).collect()
}

/// `spin up`'s flags for one run.
pub struct SpinUpBuilder {
    spin: SpinBinary,
    manifest: PathBuf,
    variables: BTreeMap<String, String>,
    components: Vec<String>,
    runtime_config: Option<String>,
    env: Vec<(String, String)>,
    log_files: bool,
}

impl SpinUpBuilder {
    /// An environment variable of `spin up` (e.g. `OTEL_EXPORTER_OTLP_ENDPOINT`); set after the
    /// developer's `SPIN_*` and `OTEL_*` are removed.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_owned(), value.into()));
        self
    }

    /// No state directory (`--state-dir ""`), hence no log files: components write to Spin's
    /// stderr ([`SpinUp::output`]), as under SpinKube's shim. With log files, Spin 4.0.2 opens
    /// each component's two files again for every instance it creates
    /// (`StdioLoggingExecutorHooks::prepare_instance`), a cost per request that the cluster
    /// does not have. The `default` key-value store then needs a runtime config.
    pub fn without_log_files(mut self) -> Self {
        self.log_files = false;
        self
    }

    /// `--variable name=value`.
    pub fn variable(mut self, name: &str, value: impl Into<String>) -> Self {
        self.variables.insert(name.to_owned(), value.into());
        self
    }

    /// `-c id` (selective deployment).
    pub fn component(mut self, id: &str) -> Self {
        self.components.push(id.to_owned());
        self
    }

    /// `--runtime-config-file` with this content.
    pub fn runtime_config(mut self, toml: &str) -> Self {
        self.runtime_config = Some(toml.to_owned());
        self
    }

    /// Another manifest (e.g. a rendered template's app).
    pub fn manifest(mut self, path: impl Into<PathBuf>) -> Self {
        self.manifest = path.into();
        self
    }

    /// Builds, starts `spin up` on a free loopback port and waits until Spin's health route
    /// answers. Fails with Spin's output if it exits first.
    pub async fn start(self) -> Result<SpinUp> {
        if self.manifest == manifest_path() {
            self.spin.build()?;
        }
        let dir = tempdir("spin-up")?;
        let port = free_port();
        let mut command = Command::new(&self.spin.path);
        command.arg("up").arg("--from").arg(&self.manifest).args(["--listen", &format!("127.0.0.1:{port}")]);
        if self.log_files {
            command.arg("--state-dir").arg(dir.join("state")).arg("--log-dir").arg(dir.join("logs"));
        } else {
            // An empty value unsets it (`--log-dir` refuses one). Not `--state-dir=`: `spin up`
            // hands that form on to each trigger of a multi-trigger app, which refuses it.
            command.args(["--state-dir", ""]);
        }
        for (name, value) in &self.variables {
            command.args(["--variable", &format!("{name}={value}")]);
        }
        for id in &self.components {
            command.args(["-c", id]);
        }
        if let Some(config) = &self.runtime_config {
            let path = dir.join("runtime-config.toml");
            std::fs::write(&path, config)?;
            command.arg("--runtime-config-file").arg(path);
        }
        // Only what the test sets: no SPIN_VARIABLE_* or OTEL_* from the developer's shell.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("SPIN_") || key.starts_with("OTEL_") {
                command.env_remove(key.as_ref());
            }
        }
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let output = std::fs::File::create(dir.join("spin.out"))?;
        command.stdin(Stdio::null()).stdout(output.try_clone()?).stderr(output).current_dir(&dir);
        let child = command.spawn().with_context(|| format!("starting {}", self.spin.path.display()))?;
        let mut spin = SpinUp { child, dir, origin: format!("http://127.0.0.1:{port}"), version: self.spin.version };
        let ready = eventually(Duration::from_secs(60), async || {
            if spin.exited() {
                return Some(false);
            }
            let health = http::Request::get(spin.url("/.well-known/spin/health")).body(Full::new(Bytes::new())).ok()?;
            let response = crate::support::send(health).await.ok()?;
            (response.status == 200).then_some(true)
        })
        .await;
        match ready {
            Some(true) => Ok(spin),
            _ => bail!("spin {} did not start:\n{}", spin.version, spin.output()),
        }
    }
}

/// A running `spin up`; stopped (and its files removed) when dropped.
pub struct SpinUp {
    child: Child,
    dir: PathBuf,
    origin: String,
    pub version: String,
}

impl SpinUp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// Sends a request (its URI a path, as the harness takes it) to this Spin.
    pub async fn handle(&self, request: http::Request<Full<Bytes>>) -> Result<Response> {
        let (mut parts, body) = request.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = self.url(path).parse()?;
        crate::support::send(http::Request::from_parts(parts, body)).await
    }

    /// Whether `spin up` has exited (and so serves nothing).
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// What `spin up` printed.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.dir.join("spin.out")).unwrap_or_default()
    }

    /// What a component wrote to stdout and stderr (Spin's `--log-dir` files).
    pub fn log(&self, component: &str) -> String {
        ["stdout", "stderr"]
            .iter()
            .map(|stream| {
                std::fs::read_to_string(self.dir.join(format!("logs/{component}_{stream}.txt"))).unwrap_or_default()
            })
            .collect()
    }

    /// Every component's output, for failure messages.
    pub fn logs(&self) -> String {
        let mut text = self.output();
        if let Ok(entries) = std::fs::read_dir(self.dir.join("logs")) {
            for entry in entries.flatten() {
                let content = std::fs::read_to_string(entry.path()).unwrap_or_default();
                if !content.is_empty() {
                    text.push_str(&format!("--- {}\n{content}", entry.file_name().to_string_lossy()));
                }
            }
        }
        text
    }

    /// The state directory (`--state-dir`: the SQLite key-value store lives there).
    pub fn state_dir(&self) -> PathBuf {
        self.dir.join("state")
    }
}

impl Drop for SpinUp {
    fn drop(&mut self) {
        // SIGTERM first so Spin can shut its triggers down; then make sure.
        if !self.exited() {
            let _ = Command::new("kill").arg(self.child.id().to_string()).stderr(Stdio::null()).status();
        }
        for _ in 0..50 {
            if self.exited() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh directory under the system's temp dir.
pub fn tempdir(prefix: &str) -> Result<PathBuf> {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("facteur-{prefix}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
