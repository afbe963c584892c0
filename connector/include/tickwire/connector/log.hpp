// log(): the connector's process-wide non-blocking Logger (stderr). Every
// connector thread logs through it with the TW_LOG_* macros: a call copies its
// arguments into the thread's ring and returns; the backend thread formats
// and writes. Created on first use; flushed and stopped at exit.
// set_log_format() picks the line format ([log] format), at any time.
#pragma once

#include "tickwire/config/config.hpp"
#include "tickwire/middleware/logger.hpp"

namespace tickwire::connector {

middleware::Logger& log();

// set_log_format: kText: "2026-01-02T03:04:05.123456+0000 info message";
// kJson: one object per line,
// {"time":"2026-01-02T03:04:05.123456+0000","level":"info","thread":1234,"logger":"tickwire","message":"..."}
// with the message JSON-escaped.
void set_log_format(config::LogFormat format);

}  // namespace tickwire::connector
