//! Where the command's output goes, and what happens when it cannot go there. One mechanism for
//! every command and format:
//!
//! - **A closed pipe** (`klgrid … | head -1`): writing stops quietly, and the command goes on to
//!   its usual exit code (0 on success) — the reader asked for no more. Rust ignores SIGPIPE, so
//!   the write fails with `BrokenPipe` and [`Failure::classify`] turns it into a quiet stop.
//! - **A lost report**: a full disk (`> /dev/full`), any other write error, or a standard output
//!   closed from the start (`>&-`, detected in [`init`], where /dev/null takes its place so that
//!   no file opened later becomes fd 1) is a failure: exit 1 with one line on stderr.
//! - **stderr** is written by [`note`], which ignores errors: a closed or full stderr never
//!   panics (`eprintln!` does).
//! - **Files** (`--out`, `--plot`) are written atomically by [`Target`]: into a temporary file in
//!   the same folder, renamed over the target on success. On an error the temporary file is
//!   removed (dropped); on SIGINT, SIGTERM or SIGHUP a handler thread removes every pending
//!   temporary file and then ends the process the way the signal would have. An existing target
//!   is never touched until the complete new file replaces it. Targets that are not regular
//!   files (`/dev/null`, a FIFO) are written directly.

use klgrid::{Error, Result};
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

/// Standard output was closed when the process started (`>&-`).
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Temporary files not yet renamed into place, removed on a signal.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Prepares the process's standard streams and environment; call first in `main`, before any
/// thread starts:
///
/// - a closed fd 0, 1 or 2 is reopened on /dev/null, so that no file opened later takes its
///   number (Rust's runtime already does so before `main`, read-write, which is how a stdout
///   closed at start is recognised: writing the output there is then an error);
/// - when `XDG_RUNTIME_DIR` is unset or empty, it is set to a private folder (mode 0700) under the
///   temporary directory, so that Mesa's Vulkan drivers do not complain on stderr.
pub fn init() {
    #[cfg(unix)]
    for fd in 0..=2 {
        // SAFETY: fcntl(F_GETFD) only queries the descriptor; open() and dup2() act on fds 0–2,
        // which are closed (so nothing else owns them) when we touch them.
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) == -1 {
                let mode = if fd == 0 {
                    libc::O_RDONLY
                } else {
                    libc::O_WRONLY
                };
                let null = libc::open(c"/dev/null".as_ptr(), mode);
                if null >= 0 && null != fd {
                    libc::dup2(null, fd);
                    libc::close(null);
                }
                if fd == 1 {
                    STDOUT_CLOSED.store(true, Ordering::Relaxed);
                }
            }
        }
    }
    #[cfg(unix)]
    if reopened_by_std(1) {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
    if std::env::var_os("XDG_RUNTIME_DIR").is_none_or(|v| v.is_empty()) {
        if let Some(dir) = private_runtime_dir() {
            // Single-threaded here: nothing reads the environment concurrently.
            std::env::set_var("XDG_RUNTIME_DIR", dir);
        }
    }
}

/// Whether `fd` is the /dev/null that Rust's runtime opens, before `main`, in place of a closed
/// standard descriptor: /dev/null opened read-write. A shell's `>/dev/null` opens it write-only,
/// so a report sent there on purpose is not mistaken for a lost one.
#[cfg(unix)]
fn reopened_by_std(fd: libc::c_int) -> bool {
    // SAFETY: fstat/stat write into the zeroed structs we pass; fcntl(F_GETFL) only queries.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags == -1 || flags & libc::O_ACCMODE != libc::O_RDWR {
            return false;
        }
        let mut st: libc::stat = std::mem::zeroed();
        let mut null: libc::stat = std::mem::zeroed();
        libc::fstat(fd, &mut st) == 0
            && libc::stat(c"/dev/null".as_ptr(), &mut null) == 0
            && st.st_mode & libc::S_IFMT == libc::S_IFCHR
            && st.st_rdev == null.st_rdev
    }
}

/// `<tmp>/klgrid-runtime-<uid>`, created with mode 0700, or a fresh private folder when that
/// one exists but is not ours or not private.
fn private_runtime_dir() -> Option<OsString> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        let dir = std::env::temp_dir().join(format!("klgrid-runtime-{uid}"));
        let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() && m.uid() == uid && m.permissions().mode() & 0o077 == 0 => {
                Some(dir.into_os_string())
            }
            _ => tempfile::Builder::new()
                .prefix("klgrid-runtime-")
                .tempdir()
                .ok()
                .map(|d| d.keep().into_os_string()),
        }
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Writes `klgrid: {msg}` and a newline on stderr; errors (a closed or full stderr) are ignored.
pub fn note(msg: &str) {
    if QUIET.load(Ordering::Relaxed) && is_info(msg) {
        return;
    }
    let mut line = String::with_capacity(msg.len() + 9);
    line.push_str("klgrid: ");
    line.push_str(msg);
    line.push('\n');
    let _ = io::stderr().lock().write_all(line.as_bytes());
}

/// `--quiet`: leave out the informational notes (see [`is_info`]).
static QUIET: AtomicBool = AtomicBool::new(false);

/// Sets `--quiet` for the rest of the process.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// A note that only says what klgrid chose or is doing (the path `--backend auto` took and why,
/// the bench's current path), which `--quiet` leaves out (the JSON records the path); warnings
/// and errors always print.
fn is_info(msg: &str) -> bool {
    msg.starts_with("backend auto: ") || msg.starts_with("bench: ")
}

/// How a write to the output ended badly.
pub enum Failure {
    /// The reader went away (a closed pipe): stop quietly.
    Closed,
    /// The report is lost.
    Lost(Error),
}

impl Failure {
    /// Sorts an I/O error of writing to `what`: a broken pipe is [`Failure::Closed`], anything
    /// else [`Failure::Lost`].
    pub fn classify(e: io::Error, what: &str) -> Failure {
        if is_broken_pipe(&e) {
            Failure::Closed
        } else {
            Failure::Lost(Error::Output(format!("{what}: {e}")))
        }
    }
}

/// Whether `e` (or an error it wraps, e.g. inside serde_json's) is a broken pipe.
fn is_broken_pipe(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return true;
    }
    let mut source = e.get_ref().map(|s| s as &(dyn std::error::Error + 'static));
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::BrokenPipe {
                return true;
            }
        }
        if let Some(j) = s.downcast_ref::<serde_json::Error>() {
            if j.io_error_kind() == Some(io::ErrorKind::BrokenPipe) {
                return true;
            }
        }
        source = s.source();
    }
    false
}

/// Runs `f` on a buffered standard output: a closed pipe ends quietly (`Ok`), any other error —
/// or a standard output closed from the start — is [`Error::Output`].
pub fn stdout(f: impl FnOnce(&mut (dyn Write + Send)) -> io::Result<()>) -> Result<()> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Err(stdout_closed(""));
    }
    let mut w = BufWriter::with_capacity(1 << 16, io::stdout());
    match f(&mut w).and_then(|()| w.flush()) {
        Ok(()) => Ok(()),
        Err(e) => match Failure::classify(e, "standard output") {
            Failure::Closed => {
                // Nothing more can reach the reader; drop what is buffered without writing it.
                let _ = w.into_parts();
                Ok(())
            }
            Failure::Lost(e) => Err(e),
        },
    }
}

fn stdout_closed(hint: &str) -> Error {
    Error::Output(format!(
        "standard output is closed, so the output would be lost{hint}"
    ))
}

/// Where a report or a picture goes, prepared (and checked) before any work is done.
pub struct Target {
    dest: Dest,
}

enum Dest {
    Stdout,
    /// A regular file (or a new one), written through a temporary file beside it.
    Atomic {
        tmp: Option<tempfile::NamedTempFile>,
        target: PathBuf,
        /// The permissions of the file replaced, kept.
        keep: Option<std::fs::Permissions>,
    },
    /// Not a regular file (a device, a FIFO): written in place.
    Direct(PathBuf),
}

impl Target {
    /// Standard output; an error now if it was closed from the start, or if `binary` output
    /// would go to a terminal.
    pub fn stdout(binary: Option<&str>) -> Result<Target> {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return Err(stdout_closed(" (give --out PATH)"));
        }
        if let Some(format) = binary {
            if io::stdout().is_terminal() {
                return Err(Error::input(format!(
                    "--format {format} is binary: give --out PATH or redirect standard output"
                )));
            }
        }
        Ok(Target { dest: Dest::Stdout })
    }

    /// The file `path`, checked now: its folder must be writable (the temporary file is created
    /// in it now), and an existing file must be writable. `suffix` ends the temporary file's
    /// name (`.png` for plotters, which picks the encoder by extension). `what` names the option
    /// in messages.
    pub fn file(path: &Path, suffix: &str, what: &str) -> Result<Target> {
        let fail = |e: io::Error| Error::Output(format!("{what} '{}': {e}", path.display()));
        let meta = std::fs::metadata(path);
        match &meta {
            Ok(m) if m.is_dir() => {
                return Err(fail(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "is a directory",
                )))
            }
            Ok(m) if !m.is_file() => {
                writable(path).map_err(fail)?;
                return Ok(Target {
                    dest: Dest::Direct(path.to_path_buf()),
                });
            }
            Ok(_) => writable(path).map_err(fail)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if std::fs::symlink_metadata(path).is_ok() {
                    // A dangling symbolic link: write through it, as File::create would.
                    return Ok(Target {
                        dest: Dest::Direct(path.to_path_buf()),
                    });
                }
            }
            Err(e) => return Err(fail(io::Error::new(e.kind(), e.to_string()))),
        }
        // An existing file is replaced where it really is (through symbolic links).
        let target = match &meta {
            Ok(_) => std::fs::canonicalize(path).map_err(fail)?,
            Err(_) => path.to_path_buf(),
        };
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let suffix = format!(".tmp{suffix}");
        let mut b = tempfile::Builder::new();
        b.prefix(&prefix).suffix(&suffix);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // As File::create: 0666 less the umask.
            b.permissions(std::fs::Permissions::from_mode(0o666));
        }
        // Created and registered under the lock, so that a signal cannot come in between.
        let mut pending = lock_pending();
        // tempfile's message names the temporary path; the OS error alone is clearer.
        let tmp = b.tempfile_in(&dir).map_err(|e| fail(os_error(e)))?;
        pending.push(tmp.path().to_path_buf());
        drop(pending);
        install_signal_handler();
        Ok(Target {
            dest: Dest::Atomic {
                tmp: Some(tmp),
                target,
                keep: meta.ok().map(|m| m.permissions()),
            },
        })
    }

    /// `--out PATH` or standard output, for a report in `format` (`binary` formats refuse a
    /// terminal).
    pub fn out(path: Option<&Path>, binary: Option<&str>) -> Result<Target> {
        match path {
            Some(p) => Target::file(p, "", "--out"),
            None => Target::stdout(binary),
        }
    }

    /// Writes the output through `f` and puts it in place: renames the temporary file over the
    /// target. A closed pipe on standard output is a quiet success.
    pub fn write(
        mut self,
        f: impl FnOnce(&mut (dyn Write + Send)) -> io::Result<()>,
    ) -> Result<()> {
        match &mut self.dest {
            Dest::Stdout => stdout(f),
            Dest::Direct(path) => {
                let what = path.display().to_string();
                let file =
                    File::create(&*path).map_err(|e| Error::Output(format!("{what}: {e}")))?;
                let mut w = BufWriter::with_capacity(1 << 16, file);
                match f(&mut w).and_then(|()| w.flush()) {
                    Ok(()) => Ok(()),
                    Err(e) => match Failure::classify(e, &what) {
                        Failure::Closed => Ok(()),
                        Failure::Lost(e) => Err(e),
                    },
                }
            }
            Dest::Atomic { tmp, target, .. } => {
                let what = target.display().to_string();
                let file = tmp.as_mut().map(|t| t.as_file_mut());
                let Some(file) = file else {
                    return Err(Error::Output(format!("{what}: written twice")));
                };
                let mut w = BufWriter::with_capacity(1 << 16, file);
                f(&mut w)
                    .and_then(|()| w.flush())
                    .map_err(|e| Error::Output(format!("{what}: {e}")))?;
                drop(w);
                self.commit()
            }
        }
    }

    /// The path to hand to a writer that opens the file itself (plotters), and then
    /// [`Target::commit`]; `None` for standard output.
    pub fn path(&self) -> Option<&Path> {
        match &self.dest {
            Dest::Stdout => None,
            Dest::Direct(p) => Some(p),
            Dest::Atomic { tmp, .. } => tmp.as_ref().map(|t| t.path()),
        }
    }

    /// Puts a file written through [`Target::path`] in place.
    pub fn commit(mut self) -> Result<()> {
        let Dest::Atomic { tmp, target, keep } = &mut self.dest else {
            return Ok(());
        };
        let Some(t) = tmp.take() else {
            return Ok(());
        };
        let what = target.display().to_string();
        if let Some(perm) = keep.take() {
            let _ = std::fs::set_permissions(t.path(), perm);
        }
        let mut pending = lock_pending();
        let path = t.path().to_path_buf();
        let res = t.persist(&*target);
        pending.retain(|p| *p != path);
        drop(pending);
        res.map(|_| ())
            .map_err(|e| Error::Output(format!("{what}: {}", e.error)))
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Dest::Atomic { tmp, .. } = &mut self.dest {
            if let Some(t) = tmp.take() {
                let mut pending = lock_pending();
                let path = t.path().to_path_buf();
                pending.retain(|p| *p != path);
                // Removes the temporary file.
                drop(t);
            }
        }
    }
}

/// `e` without the " at path …" that tempfile appends (the temporary file's name, which means
/// nothing to the user; the message names the target instead).
fn os_error(e: io::Error) -> io::Error {
    let text = e.to_string();
    match text.split_once(" at path ") {
        Some((msg, _)) => io::Error::new(e.kind(), msg.to_string()),
        None => e,
    }
}

fn lock_pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PENDING.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether this process may write `path` (an existing file or device).
fn writable(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in the path"))?;
        // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
        if unsafe { libc::access(c.as_ptr(), libc::W_OK) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        match std::fs::metadata(path) {
            Ok(m) if m.permissions().readonly() => {
                Err(io::Error::new(io::ErrorKind::PermissionDenied, "read-only"))
            }
            _ => Ok(()),
        }
    }
}

/// On SIGINT, SIGTERM or SIGHUP: remove the pending temporary files, then end the process as
/// the signal would have. Installed with the first temporary file.
fn install_signal_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            else {
                return;
            };
            let _ = std::thread::Builder::new()
                .name("klgrid-signals".into())
                .spawn(move || {
                    if let Some(sig) = signals.forever().next() {
                        // Held until the process ends, so that no rename races the removal.
                        let pending = lock_pending();
                        for p in pending.iter() {
                            let _ = std::fs::remove_file(p);
                        }
                        let _ = signal_hook::low_level::emulate_default_handler(sig);
                        // Signals whose default is not to end the process: end it anyway.
                        std::process::exit(128 + sig);
                    }
                });
        }
    });
}

/// Reports a library error once, as one line on stderr (`klgrid: error: …`, whatever the
/// message's lines), and returns its exit code: 2 for bad input, 1 for the environment.
pub fn report_error(e: &Error) -> i32 {
    let msg = e.to_string();
    let msg: Vec<&str> = msg
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    note(&format!("error: {}", msg.join(" ")));
    match e {
        Error::Input(_) | Error::Io { .. } => super::exit::INPUT,
        _ => super::exit::RUNTIME,
    }
}
