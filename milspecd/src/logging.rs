//! Logging with `tracing` to stderr. Under systemd (`JOURNAL_STREAM` set) each line
//! starts with the syslog priority in angle brackets (`<3>` error ... `<7>` debug),
//! which journald turns into the entry's PRIORITY; elsewhere the level is spelled
//! out. The filter comes from `MILSPECD_LOG` (error, warn, info, debug, trace).

use std::fmt;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// syslog priority of a tracing level (RFC 5424 numbers).
pub fn syslog_priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// One line per event: priority prefix or level word, message, then `key=value`s.
pub struct LineFormat {
    journald: bool,
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = event.metadata().level();
        if self.journald {
            write!(writer, "<{}>", syslog_priority(level))?;
        } else {
            write!(writer, "milspecd {level}: ")?;
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Installs the subscriber (once per process; later calls do nothing).
pub fn init() {
    let level = std::env::var("MILSPECD_LOG")
        .ok()
        .and_then(|v| v.parse::<Level>().ok())
        .unwrap_or(Level::INFO);
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .event_format(LineFormat { journald })
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture(journald: bool) -> String {
        let buf = Buf::default();
        let out = buf.clone();
        let sub = tracing_subscriber::fmt()
            .with_max_level(Level::DEBUG)
            .with_writer(move || out.clone())
            .event_format(LineFormat { journald })
            .finish();
        tracing::subscriber::with_default(sub, || {
            tracing::error!(kind = "module_denied", "policy violation");
            tracing::warn!("events lost");
            tracing::info!(seq = 7, "event");
            tracing::debug!("detail");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        text
    }

    #[test]
    fn journald_lines_carry_syslog_priorities() {
        assert_eq!(
            capture(true),
            "<3>policy violation kind=\"module_denied\"\n<4>events lost\n<6>event seq=7\n<7>detail\n"
        );
    }

    #[test]
    fn terminal_lines_spell_the_level() {
        assert!(capture(false).starts_with("milspecd ERROR: policy violation"));
    }
}
