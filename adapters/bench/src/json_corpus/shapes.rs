//! One JSON logger shape per Loghub system: each line's header (time, level, logger, process)
//! becomes the logger's own fields, typed values found in the free text become typed fields,
//! and the free text stays the message.
//!
//! | System | Shape | Message key |
//! |---|---|---|
//! | Android | zap (`level`, `ts` float seconds, `caller`, `msg`) | `msg` |
//! | Apache | bunyan / pino (`v`, numeric `level`, `name`, `hostname`, `pid`, `time`) | `msg` |
//! | HDFS | envelope with the message nested (`time`, `severity`, `data.message`) | `data.message` |
//! | HealthApp | python-json-logger (`asctime`, `levelname`, `name`, `message`) | `message` |
//! | Linux | Docker json-file / Fluent Bit (`log`, `stream`, `time` in ns) | `log` |
//! | OpenSSH | syslog to JSON (`timestamp`, `host`, `appname`, `procid`, `text`) | `text` |
//! | Spark | logrus (`level`, `msg`, `time`) | `msg` |
//! | Zookeeper | ECS / Serilog nested (`@timestamp`, `log.level`, `log.logger`, `message`) | `message` |

use super::jsonw::{
    Civil, Obj, after, as_int, error_kind, key_values, level_from_words, month, numbers, tokens, word,
};

/// The systems with a shape, in file-name order.
pub const SYSTEMS: [&str; 8] =
    ["Android", "Apache", "HDFS", "HealthApp", "Linux", "OpenSSH", "Spark", "Zookeeper"];

/// The year of systems whose lines carry none.
const ANDROID_YEAR: i64 = 2017;
const LINUX_YEAR: i64 = 2005;
const OPENSSH_YEAR: i64 = 2015;

/// The JSON lines of Loghub file `data` of `system` (one object per kept line, each ending in
/// `\n`), or `None` for a system without a shape.
pub fn convert(system: &str, data: &[u8]) -> Option<Vec<u8>> {
    let shape: fn(&str, &mut Civil) -> Option<String> = match system {
        "Android" => android,
        "Apache" => apache,
        "HDFS" => hdfs,
        "HealthApp" => health_app,
        "Linux" => linux,
        "OpenSSH" => openssh,
        "Spark" => spark,
        "Zookeeper" => zookeeper,
        _ => return None,
    };
    let mut out = Vec::with_capacity(data.len() * 2);
    // A line that does not parse keeps the previous line's time and goes whole into the message.
    let mut last = Civil { year: 1970, month: 1, day: 1, ..Civil::default() };
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let text = String::from_utf8_lossy(line);
        let mut time = last;
        let json = shape(&text, &mut time).filter(|_| time.is_valid());
        let json = match json {
            Some(json) => {
                last = time;
                json
            }
            None => fallback(system, &text, last),
        };
        out.extend_from_slice(json.as_bytes());
        out.push(b'\n');
    }
    Some(out)
}

/// A line the shape could not read: the whole line as the message of a minimal object.
fn fallback(system: &str, line: &str, time: Civil) -> String {
    let mut o = Obj::new();
    o.str("time", &time.rfc3339_ms()).str("level", level_from_words(line)).str("logger", system);
    o.str("message", line).bool("unparsed", true);
    o.finish()
}

/// An `error` object for error lines: the kind (an exception name in the text, else `fallback`)
/// and the message.
fn error_obj(message: &str, fallback: &str) -> Obj {
    let mut e = Obj::new();
    e.str("kind", error_kind(message).unwrap_or(fallback)).str("message", message);
    e
}

/// `hh:mm:ss` into `time`.
fn clock(text: &str, time: &mut Civil) -> Option<()> {
    let hms = numbers(text, ':')?;
    let [h, m, s] = hms[..] else { return None };
    (time.hour, time.minute, time.second) = (h, m, s);
    Some(())
}

/// The durations of a text as milliseconds: `in 12 ms`, `took 0.5 s`.
fn duration_ms(text: &str) -> Option<f64> {
    let words: Vec<&str> = tokens(text).collect();
    words.windows(2).find_map(|w| {
        let value: f64 = w[0].parse().ok()?;
        match w[1] {
            "ms" => Some(value),
            "s" | "sec" | "seconds" => Some(value * 1000.0),
            _ => None,
        }
    })
}

/// Android (`03-17 16:13:38.811  1702  2395 D Tag: text`) as zap.
fn android(line: &str, time: &mut Civil) -> Option<String> {
    let (date, rest) = word(line)?;
    let (clock_ms, rest) = word(rest)?;
    let (pid, rest) = word(rest)?;
    let (tid, rest) = word(rest)?;
    let (level, rest) = word(rest)?;
    let (tag, message) = rest.split_once(": ").unwrap_or((rest.trim_end_matches(':'), ""));
    let [mo, d] = numbers(date, '-')?[..] else { return None };
    let (hms, ms) = clock_ms.split_once('.')?;
    *time = Civil { year: ANDROID_YEAR, month: mo, day: d, milli: ms.parse().ok()?, ..*time };
    clock(hms, time)?;
    let level = match level {
        "V" | "D" => "debug",
        "I" => "info",
        "W" => "warn",
        "E" => "error",
        "F" | "A" => "fatal",
        _ => return None,
    };
    let mut o = Obj::new();
    o.str("level", level).float("ts", time.epoch_secs()).str("caller", tag.trim()).str("msg", message);
    o.int("pid", as_int(pid)?).int("tid", as_int(tid)?);
    // zap's fields: the text's typed key=value pairs (strings stay in the message).
    let typed = key_values(message)
        .into_iter()
        .filter(|(_, v)| matches!(*v, "true" | "false" | "null") || as_int(v).is_some());
    for (k, v) in typed.take(4) {
        o.scalar(k, v);
    }
    if matches!(level, "error" | "fatal") {
        o.obj("error", error_obj(message, tag.trim()));
    }
    Some(o.finish())
}

/// Apache (`[Sun Dec 04 04:47:44 2005] [notice] text`) as bunyan / pino.
fn apache(line: &str, time: &mut Civil) -> Option<String> {
    let (stamp, rest) = line.strip_prefix('[')?.split_once("] [")?;
    let (level, mut message) = rest.split_once("] ")?;
    let mut parts = stamp.split(' ').filter(|p| !p.is_empty()).skip(1);
    let (mo, d, hms, y) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    *time = Civil { year: y.parse().ok()?, month: month(mo)?, day: d.parse().ok()?, milli: 0, ..*time };
    clock(hms, time)?;
    // `[client 1.2.3.4] ` after the level becomes a field.
    let mut client = None;
    if let Some(rest) = message.strip_prefix("[client ") {
        let (ip, text) = rest.split_once("] ")?;
        client = Some(ip);
        message = text;
    }
    let level_num = match level {
        "trace" => 10,
        "debug" => 20,
        "info" | "notice" => 30,
        "warn" => 40,
        "error" => 50,
        "crit" | "alert" | "emerg" => 60,
        _ => return None,
    };
    let mut o = Obj::new();
    o.int("v", 0).int("level", level_num).str("name", "httpd").str("hostname", "web-1").int("pid", 2142);
    o.str("time", &time.rfc3339_ms()).str("msg", message);
    o.opt_int("child", after(message, "child ").and_then(as_int));
    if let Some(slot) = after(message, "slot ").and_then(as_int) {
        o.int("slot", slot);
    }
    if let Some(state) = after(message, "error state ").and_then(as_int) {
        o.int("state", state);
    }
    if let Some(ip) = client {
        let mut req = Obj::new();
        req.str("remoteAddress", ip);
        o.obj("req", req);
    }
    if level_num >= 50 {
        o.obj("error", error_obj(message, "ApacheError"));
    }
    Some(o.finish())
}

/// HDFS (`081109 203615 148 INFO dfs.DataNode$PacketResponder: text`) as an envelope with the
/// message nested in `data`.
fn hdfs(line: &str, time: &mut Civil) -> Option<String> {
    let (date, rest) = word(line)?;
    let (hms, rest) = word(rest)?;
    let (thread, rest) = word(rest)?;
    let (level, rest) = word(rest)?;
    let (logger, message) = rest.split_once(": ")?;
    if date.len() != 6 || hms.len() != 6 {
        return None;
    }
    let n = |s: &str| s.parse::<u32>().ok();
    *time = Civil {
        year: 2000 + i64::from(n(&date[..2])?),
        month: n(&date[2..4])?,
        day: n(&date[4..])?,
        hour: n(&hms[..2])?,
        minute: n(&hms[2..4])?,
        second: n(&hms[4..])?,
        milli: 0,
    };
    let severity = match level {
        "INFO" => "INFO",
        "WARN" => "WARNING",
        "ERROR" => "ERROR",
        "FATAL" => "CRITICAL",
        "DEBUG" => "DEBUG",
        _ => return None,
    };
    let mut data = Obj::new();
    data.str("message", message).str("logger", logger).int("thread", as_int(thread)?);
    data.opt_str(
        "block_id",
        tokens(message).find(|t| t.starts_with("blk_")).map(|t| t.trim_end_matches(':')),
    );
    if let Some(size) = after(message, "size ").and_then(as_int) {
        data.int("size", size);
    }
    let peer = tokens(message).map(|t| t.trim_start_matches('/').trim_end_matches(':')).find(|t| {
        t.split_once(':').is_some_and(|(ip, port)| ip.split('.').count() == 4 && as_int(port).is_some())
    });
    if let Some(peer) = peer {
        data.str("peer", peer);
    }
    let mut o = Obj::new();
    o.str("time", &time.rfc3339_s()).str("severity", severity).obj("data", data);
    let segments: Vec<&str> = logger.split(['.', '$']).filter(|s| !s.is_empty()).collect();
    o.strs("tags", &segments);
    if matches!(severity, "ERROR" | "CRITICAL") {
        o.obj("error", error_obj(message, logger));
    }
    Some(o.finish())
}

/// HealthApp (`20171223-22:15:29:606|Step_LSC|30002312|text`) as python-json-logger.
fn health_app(line: &str, time: &mut Civil) -> Option<String> {
    let mut fields = line.splitn(4, '|');
    let (stamp, name, pid, message) = (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
    let (date, clock_ms) = stamp.split_once('-')?;
    if date.len() != 8 {
        return None;
    }
    let [h, mi, s, ms] = numbers(clock_ms, ':')?[..] else { return None };
    let n = |s: &str| s.parse::<u32>().ok();
    *time = Civil {
        year: i64::from(n(&date[..4])?),
        month: n(&date[4..6])?,
        day: n(&date[6..])?,
        hour: h,
        minute: mi,
        second: s,
        milli: ms,
    };
    let level = match level_from_words(message) {
        "error" => "ERROR",
        "warn" => "WARNING",
        _ => "INFO",
    };
    let message = message.trim();
    let mut o = Obj::new();
    o.str("asctime", &time.rfc3339_ms()).str("levelname", level).str("name", name).str("message", message);
    o.int("process", as_int(pid)?);
    // The first number of the text (a step count, a time), when there is one.
    let value = message.split([' ', ':', '=', '#']).find_map(as_int);
    o.opt_int("value", value);
    if level == "ERROR" {
        o.obj("error", error_obj(message, name));
    }
    Some(o.finish())
}

/// The syslog header shared by Linux and OpenSSH (`Jun 14 15:16:01 host ident[pid]: text`).
struct Syslog<'a> {
    host: &'a str,
    ident: &'a str,
    pid: Option<i64>,
    message: &'a str,
}

fn syslog<'a>(line: &'a str, year: i64, time: &mut Civil) -> Option<Syslog<'a>> {
    let (mo, rest) = word(line)?;
    let (d, rest) = word(rest)?;
    let (hms, rest) = word(rest)?;
    let (host, rest) = word(rest)?;
    let (ident, message) = rest.split_once(": ").unwrap_or((rest.trim_end_matches(':'), ""));
    *time = Civil { year, month: month(mo)?, day: d.parse().ok()?, milli: 0, ..*time };
    clock(hms, time)?;
    let (ident, pid) = match ident.strip_suffix(']').and_then(|i| i.rsplit_once('[')) {
        Some((name, pid)) => (name, Some(as_int(pid)?)),
        None => (ident, None),
    };
    Some(Syslog { host, ident, pid, message })
}

/// Linux syslog as Docker json-file / Fluent Bit: the text under `log`.
fn linux(line: &str, time: &mut Civil) -> Option<String> {
    let s = syslog(line, LINUX_YEAR, time)?;
    let level = level_from_words(s.message);
    let mut o = Obj::new();
    o.str("log", s.message).str("stream", if level == "info" { "stdout" } else { "stderr" });
    o.str("time", &time.rfc3339_ns()).str("host", s.host).str("ident", s.ident).opt_int("pid", s.pid);
    o.str("level", level);
    // pam's `uid=0 euid=0 ruser= rhost=…` as typed fields; an empty value is null.
    for (k, v) in key_values(s.message).into_iter().take(6) {
        o.scalar(k, v);
    }
    if level == "error" {
        o.obj("error", error_obj(s.message, s.ident));
    }
    Some(o.finish())
}

/// OpenSSH syslog as syslog-to-JSON: the text under `text`.
fn openssh(line: &str, time: &mut Civil) -> Option<String> {
    let s = syslog(line, OPENSSH_YEAR, time)?;
    let m = s.message;
    let severity = match level_from_words(m) {
        "error" => "error",
        "warn" => "warning",
        _ => "info",
    };
    let mut o = Obj::new();
    o.str("timestamp", &time.rfc3339_s())
        .str("host", s.host)
        .str("appname", s.ident)
        .opt_int("procid", s.pid);
    o.str("facility", "auth").str("severity", severity).str("text", m);
    let user = ["Invalid user ", "invalid user ", "Failed password for ", "Accepted password for ", " user="]
        .iter()
        .find_map(|marker| after(m, marker))
        .filter(|u| *u != "invalid");
    o.opt_str("user", user);
    if let Some(ip) = after(m, "from ").or_else(|| after(m, "rhost=")) {
        o.str("src_ip", ip.trim_end_matches(':'));
    }
    if let Some(port) = after(m, "port ").and_then(as_int) {
        o.int("src_port", port);
    }
    o.bool("preauth", m.ends_with("[preauth]"));
    if severity == "error" {
        o.obj("error", error_obj(m, "SshError"));
    }
    Some(o.finish())
}

/// Spark (`17/06/09 20:10:40 INFO executor.Executor: text`) as logrus.
fn spark(line: &str, time: &mut Civil) -> Option<String> {
    let (date, rest) = word(line)?;
    let (hms, rest) = word(rest)?;
    let (level, rest) = word(rest)?;
    let (component, message) = rest.split_once(": ")?;
    let [y, mo, d] = numbers(date, '/')?[..] else { return None };
    *time = Civil { year: 2000 + i64::from(y), month: mo, day: d, milli: 0, ..*time };
    clock(hms, time)?;
    let level = match level {
        "INFO" => "info",
        "WARN" => "warning",
        "ERROR" => "error",
        "DEBUG" => "debug",
        "FATAL" => "fatal",
        _ => return None,
    };
    let mut o = Obj::new();
    o.str("level", level).str("msg", message).str("time", &time.rfc3339_s()).str("component", component);
    if let Some(tid) = after(message, "TID ").and_then(as_int) {
        o.int("tid", tid);
    }
    if let Some(ms) = duration_ms(message) {
        o.float("duration_ms", ms);
    }
    let bytes =
        tokens(message).collect::<Vec<_>>().windows(2).find_map(|w| (w[1] == "bytes").then(|| as_int(w[0])));
    if let Some(Some(bytes)) = bytes {
        o.int("bytes", bytes);
    }
    let segments: Vec<&str> = component.split('.').collect();
    o.strs("tags", &segments);
    if matches!(level, "error" | "fatal") {
        o.obj("error", error_obj(message, component));
    }
    Some(o.finish())
}

/// Zookeeper (`2015-07-29 17:41:44,747 - INFO  [thread:Class@774] - text`) as ECS / Serilog
/// nested objects.
fn zookeeper(line: &str, time: &mut Civil) -> Option<String> {
    let (date, rest) = word(line)?;
    let (clock_ms, rest) = word(rest)?;
    let rest = rest.strip_prefix("- ")?;
    let (level, rest) = word(rest)?;
    let (origin, message) = rest.trim_start().strip_prefix('[')?.split_once("] - ")?;
    let [y, mo, d] = numbers(date, '-')?[..] else { return None };
    let (hms, ms) = clock_ms.split_once(',')?;
    *time = Civil { year: i64::from(y), month: mo, day: d, milli: ms.parse().ok()?, ..*time };
    clock(hms, time)?;
    let (thread, class_line) = origin.rsplit_once(':')?;
    let (class, line_no) = class_line.split_once('@')?;
    let level = level.to_ascii_lowercase();
    if !matches!(level.as_str(), "info" | "warn" | "error" | "debug" | "fatal" | "trace") {
        return None;
    }
    let mut file = Obj::new();
    file.int("line", as_int(line_no)?);
    let mut origin = Obj::new();
    origin.obj("file", file).str("function", class);
    let mut log = Obj::new();
    log.str("level", &level).str("logger", class).obj("origin", origin);
    let mut thread_obj = Obj::new();
    thread_obj.str("name", thread);
    let mut process = Obj::new();
    process.obj("thread", thread_obj);
    let mut o = Obj::new();
    o.str("@timestamp", &time.rfc3339_ms()).obj("log", log).str("message", message).obj("process", process);
    let mut service = Obj::new();
    service.str("name", "zookeeper");
    o.obj("service", service);
    let myid = after(thread, "myid=").map(|t| t.trim_end_matches(']')).and_then(as_int);
    let mut zk = Obj::new();
    zk.opt_int("myid", myid);
    if let Some(sid) = after(message, "id ").and_then(as_int) {
        zk.int("sid", sid);
    }
    o.obj("zookeeper", zk);
    if let Some(timeout) = after(message, "time out: ").and_then(as_int) {
        let mut event = Obj::new();
        event.float("duration_ms", timeout as f64);
        o.obj("event", event);
    }
    o.strs("tags", &["zookeeper", class.split('$').next().unwrap_or(class)]);
    if matches!(level.as_str(), "error" | "fatal") {
        let mut e = Obj::new();
        e.str("type", error_kind(message).unwrap_or(class)).str("message", message);
        o.obj("error", e);
    }
    Some(o.finish())
}
