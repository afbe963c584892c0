// Former home of the Binance parser, kept so code written against it still
// builds: the parser is venues::BinanceParser (venues/binance/parser.hpp) and
// the normalized message types are in venue.hpp. New code includes those.
#pragma once

#include "tickwire/connector/venues/binance/parser.hpp"

namespace tickwire::connector::feeds {

using connector::EventKind;
using connector::MessageKind;
using connector::ParsedMessage;
using venues::BinanceParser;
using venues::TimeUnit;

}  // namespace tickwire::connector::feeds
