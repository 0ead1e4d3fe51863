//! `ship --follow`: tail a growing file across rotation and truncation, and persist the
//! position of the last acknowledged line (`--state-file`) so that a restart resumes there.

use std::fs::File;
use std::io::{self, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::lines::{Line, LineReader};

/// Identity of a file independent of its name: device and inode on Unix (a rotated file keeps
/// its identity under its new name); 0 elsewhere, where only truncation is noticed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileId {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

impl FileId {
    fn of(metadata: &std::fs::Metadata) -> FileId {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            FileId { dev: metadata.dev(), ino: metadata.ino() }
        }
        #[cfg(not(unix))]
        {
            let _ = metadata;
            FileId::default()
        }
    }
}

/// Where a line ends: in which file, at which byte offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// The file.
    pub file: FileId,
    /// Offset just past the line.
    pub offset: u64,
}

/// The persisted position of the last acknowledged line.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    temp: PathBuf,
    saved: Option<Position>,
}

impl StateFile {
    /// A state file at `path`; its temporary sibling is `path` + `.tmp`.
    pub fn new(path: PathBuf) -> Self {
        let mut temp = path.clone().into_os_string();
        temp.push(".tmp");
        StateFile { path, temp: PathBuf::from(temp), saved: None }
    }

    /// The saved position, if the file exists; an unreadable or malformed state is an error
    /// (resuming from the start would duplicate the whole file silently).
    pub fn load(&mut self) -> io::Result<Option<Position>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| invalid(&self.path, e))?;
        let field = |name: &str| {
            value.get(name).and_then(serde_json::Value::as_u64).ok_or_else(|| invalid(&self.path, name))
        };
        let position =
            Position { file: FileId { dev: field("dev")?, ino: field("ino")? }, offset: field("offset")? };
        self.saved = Some(position);
        Ok(Some(position))
    }

    /// Saves `position` atomically (write a temporary file, sync it, rename it over the state
    /// file), unless it is the one saved last.
    pub fn save(&mut self, position: Position) -> io::Result<()> {
        if self.saved == Some(position) {
            return Ok(());
        }
        let text = json!({"dev": position.file.dev, "ino": position.file.ino, "offset": position.offset});
        {
            let mut temp = File::create(&self.temp)?;
            io::Write::write_all(&mut temp, text.to_string().as_bytes())?;
            temp.sync_all()?;
        }
        std::fs::rename(&self.temp, &self.path)?;
        self.saved = Some(position);
        Ok(())
    }
}

fn invalid(path: &Path, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "the state file {} is malformed ({what}); delete it to start from the file's beginning",
            path.display()
        ),
    )
}

/// Reads kept lines of a growing file, reopening it when it is rotated or truncated.
pub struct Tailer {
    path: PathBuf,
    reader: LineReader<BufReader<File>>,
    file: FileId,
}

impl Tailer {
    /// Opens `path`, at `resume`'s offset when it names this file and the file is still that
    /// long, else at the start. When `resume` names another file that is still in `path`'s
    /// folder under a name starting with `path`'s (rotated: `app.log.1`), the rest of that file
    /// is read first, then `path` from its start; a file rotated twice while nobody followed
    /// is not looked for.
    pub fn open(path: &Path, resume: Option<Position>) -> io::Result<Tailer> {
        let mut handle = File::open(path)?;
        let metadata = handle.metadata()?;
        let file = FileId::of(&metadata);
        if let Some(p) = resume
            && p.file != file
            && p.file != FileId::default()
            && let Some(rotated) = find_rotated(path, p.file)
        {
            let mut old = File::open(&rotated)?;
            if p.offset <= old.metadata()?.len() {
                tracing::info!(rotated = %rotated.display(), offset = p.offset,
                    "resuming in the rotated file, then the new one from its start");
                old.seek(SeekFrom::Start(p.offset))?;
                let reader = LineReader::new(BufReader::new(old), p.offset);
                return Ok(Tailer { path: path.to_owned(), reader, file: p.file });
            }
        }
        let start = match resume {
            Some(p) if p.file == file && p.offset <= metadata.len() => p.offset,
            _ => 0,
        };
        handle.seek(SeekFrom::Start(start))?;
        Ok(Tailer { path: path.to_owned(), reader: LineReader::new(BufReader::new(handle), start), file })
    }

    /// The next complete line and its position, or `None` when there is none yet. At the end
    /// of the file it checks the path: another file there (rotation) or a shorter file
    /// (truncation) is reopened from its start.
    pub fn next_line(&mut self) -> io::Result<Option<(Line, Position)>> {
        if let Some(line) = self.reader.next_line()? {
            let position = Position { file: self.file, offset: line.end_offset };
            return Ok(Some((line, position)));
        }
        let metadata = match std::fs::metadata(&self.path) {
            Ok(metadata) => metadata,
            // Between a rename and the creation of the new file: wait.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let rotated = FileId::of(&metadata) != self.file;
        let truncated = metadata.len() < self.reader.offset();
        if rotated || truncated {
            if rotated && let Some(line) = self.reader.finish() {
                // The old file's unterminated last line is complete: nobody writes there now.
                let position = Position { file: self.file, offset: line.end_offset };
                *self = Tailer::open(&self.path.clone(), None)?;
                return Ok(Some((line, position)));
            }
            *self = Tailer::open(&self.path.clone(), None)?;
            return self.reader.next_line().map(|line| {
                line.map(|line| {
                    let position = Position { file: self.file, offset: line.end_offset };
                    (line, position)
                })
            });
        }
        Ok(None)
    }
}

/// Where rotation renamed the file with identity `id`: a file of `path`'s folder whose name
/// starts with `path`'s (`app.log.1`, `app.log-20260101`), not compressed, with that identity.
/// The name rule keeps an unrelated file that reused a deleted log's inode out.
fn find_rotated(path: &Path, id: FileId) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let folder = path.parent().filter(|f| !f.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::read_dir(folder).ok()?.filter_map(Result::ok).map(|entry| entry.path()).find(|candidate| {
        let Some(other) = candidate.file_name().and_then(|n| n.to_str()) else { return false };
        let compressed = [".gz", ".zst", ".bz2", ".xz"].iter().any(|ext| other.ends_with(ext));
        other != name
            && other.starts_with(name)
            && !compressed
            && std::fs::metadata(candidate).is_ok_and(|m| m.is_file() && FileId::of(&m) == id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("stateful-logs-follow-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    fn drain(tailer: &mut Tailer) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        while let Some((line, position)) = tailer.next_line().expect("read") {
            out.push((String::from_utf8_lossy(&line.content).into_owned(), position.offset));
        }
        out
    }

    #[test]
    fn growth_truncation_and_rotation_are_followed() {
        let dir = temp_dir("tail");
        let path = dir.join("app.log");
        std::fs::write(&path, "a\nb\npart").expect("write");
        let mut tailer = Tailer::open(&path, None).expect("open");
        assert_eq!(drain(&mut tailer), [("a".into(), 2), ("b".into(), 4)]);
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).expect("append");
        file.write_all(b"ial\n").expect("append");
        assert_eq!(drain(&mut tailer), [("partial".into(), 12)]);

        std::fs::write(&path, "c\n").expect("truncate");
        assert_eq!(drain(&mut tailer), [("c".into(), 2)]);

        std::fs::rename(&path, dir.join("app.log.1")).expect("rotate");
        std::fs::write(&path, "d\n").expect("new file");
        assert_eq!(drain(&mut tailer), [("d".into(), 2)]);
    }

    #[test]
    fn the_state_file_round_trips_and_resumes_only_the_same_file() {
        let dir = temp_dir("state");
        let path = dir.join("app.log");
        std::fs::write(&path, "a\nb\nc\n").expect("write");
        let file = Tailer::open(&path, None).expect("open").file;
        let mut state = StateFile::new(dir.join("state.json"));
        assert_eq!(state.load().expect("absent"), None);
        state.save(Position { file, offset: 4 }).expect("save");
        let loaded = StateFile::new(dir.join("state.json")).load().expect("load");
        assert_eq!(loaded, Some(Position { file, offset: 4 }));
        let mut resumed = Tailer::open(&path, loaded).expect("open");
        assert_eq!(drain(&mut resumed), [("c".into(), 6)]);
        let other = Position { file: FileId { dev: file.dev, ino: file.ino.wrapping_add(1) }, offset: 4 };
        #[cfg(unix)]
        assert_eq!(drain(&mut Tailer::open(&path, Some(other)).expect("open")).len(), 3);
        let _ = other;
    }

    #[cfg(unix)]
    #[test]
    fn a_restart_after_rotation_finishes_the_rotated_file_first() {
        let dir = temp_dir("rotated");
        let path = dir.join("app.log");
        std::fs::write(&path, "a\nb\nc\n").expect("write");
        let mut tailer = Tailer::open(&path, None).expect("open");
        let (_, acked) = tailer.next_line().expect("read").expect("a line");
        // Rotated while nobody follows: the rest of the old file comes first, then the new one.
        std::fs::rename(&path, dir.join("app.log.1")).expect("rotate");
        std::fs::write(&path, "d\n").expect("new file");
        let mut resumed = Tailer::open(&path, Some(acked)).expect("open");
        assert_eq!(drain(&mut resumed), [("b".into(), 4), ("c".into(), 6), ("d".into(), 2)]);
    }
}
