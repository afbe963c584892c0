// log(): the connector's process-wide non-blocking Logger (stderr). Every
// connector thread logs through it with the TW_LOG_* macros: a call copies its
// arguments into the thread's ring and returns; the backend thread formats
// and writes. Created on first use; flushed and stopped at exit.
#pragma once

#include "tickwire/middleware/logger.hpp"

namespace tickwire::connector {

middleware::Logger& log();

}  // namespace tickwire::connector
