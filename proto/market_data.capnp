# tickwire market data: one Envelope per normalized exchange event.
#
# An Envelope is what the connector publishes on every transport and what the
# journal stores as a record's payload, framed as a standard Cap'n Proto
# message (segment table + segments), so `capnp decode` reads it directly.
#
# Prices and sizes are exact decimals (integer mantissa, base-10 exponent),
# never binary floating point: the text an exchange sent ("0.00100000") is
# kept digit for digit, trailing zeros included, and prints back identically.
@0xd5cd8086abe724e4;

$import "/capnp/c++.capnp".namespace("tickwire::proto");

# An exact decimal: value = mantissa * 10^exponent.
# "0.00100000" is {mantissa = 100000, exponent = -8}; "100" is {100, 0}.
# The exponent carries the number of fractional digits the exchange sent, so
# formatting it back gives the original text.
struct Decimal {
  mantissa @0 :Int64;
  exponent @1 :Int8;
}

# Which side took liquidity in a trade.
enum Side {
  unknown @0;  # the exchange did not say
  buy @1;      # the buyer was the aggressor (taker)
  sell @2;     # the seller was the aggressor (Binance: buyer is maker, m=true)
}

# One executed trade.
struct Trade {
  tradeId @0 :UInt64;     # the exchange's trade id (Binance "t")
  price @1 :Decimal;      # execution price (Binance "p")
  size @2 :Decimal;       # executed quantity in the base asset (Binance "q")
  aggressor @3 :Side;     # taker side (Binance: "m" true => sell)
  tradeNs @4 :UInt64;     # exchange trade time, ns since the Unix epoch (Binance "T")
  # An aggregate trade (Binance aggTrade): the fills of one taker order at one
  # price. tradeId is then the aggregate id (Binance "a", its own id space) and
  # [firstTradeId, lastTradeId] the plain trade ids it covers ("f", "l").
  # Readers that predate these fields see aggregates as trades.
  aggregate @5 :Bool;
  firstTradeId @6 :UInt64;
  lastTradeId @7 :UInt64;
  # The exchange's own trade id as it sent it, where tradeId is not that id
  # (Bybit: tradeId is the cross sequence "seq", which several trades share,
  # and this is the trade's "i", a UUID on linear); empty where tradeId is
  # the exchange's id.
  tradeIdText @8 :Text;
}

# Best bid and offer (top of book).
struct Quote {
  updateId @0 :UInt64;    # the exchange's book update id (Binance bookTicker "u")
  bidPrice @1 :Decimal;
  bidSize @2 :Decimal;
  askPrice @3 :Decimal;
  askSize @4 :Decimal;
}

# One price level: the absolute size resting at a price. A size of zero in a
# BookDelta removes the level.
struct Level {
  price @0 :Decimal;
  size @1 :Decimal;
}

# An incremental order-book update.
struct BookDelta {
  firstUpdateId @0 :UInt64;  # first update id covered (Binance "U")
  lastUpdateId @1 :UInt64;   # last update id covered (Binance "u")
  bids @2 :List(Level);      # changed bid levels, absolute sizes
  asks @3 :List(Level);      # changed ask levels, absolute sizes
  crossSequence @4 :UInt64;  # the venue's cross sequence (Bybit "seq"), comparable between
                             # books of different depths; 0 when the venue has none
}

# A full order-book image (e.g. the REST snapshot a book was synced from).
struct BookSnapshot {
  lastUpdateId @0 :UInt64;   # the exchange's update id the image is valid at
  bids @1 :List(Level);      # best first (descending price)
  asks @2 :List(Level);      # best first (ascending price)
  crossSequence @3 :UInt64;  # as BookDelta.crossSequence
}

# A perpetual's mark price and funding (Binance USD-M markPriceUpdate; other
# venues' funding / mark-price channels). Subject kind `funding`.
struct Funding {
  markPrice @0 :Decimal;
  indexPrice @1 :Decimal;
  settlePrice @2 :Decimal;    # estimated settle price (zero when the venue has none)
  fundingRate @3 :Decimal;    # the current funding rate; may be negative
  nextFundingNs @4 :UInt64;   # when it is next applied, ns since the Unix epoch (0 if unknown)
}

# A forced liquidation order (Binance USD-M forceOrder). `side` is the side of
# the liquidation order: sell liquidates a long. Subject kind `liquidation`.
struct Liquidation {
  side @0 :Side;
  price @1 :Decimal;          # the order's price
  averagePrice @2 :Decimal;   # its average fill price
  size @3 :Decimal;           # original quantity
  filledSize @4 :Decimal;     # accumulated filled quantity
  tradeNs @5 :UInt64;         # the order's trade time, ns since the Unix epoch
}

# A derivative's open interest, as the venue states it. Subject kind `open_interest`.
struct OpenInterest {
  openInterest @0 :Decimal;
}

# What a normalized instrument is.
enum InstrumentKind {
  unknown @0;     # not set (records written before instruments existed)
  spot @1;
  perpetual @2;
  future @3;      # dated: delivers on the date in its name
}

# What one contract of a derivative is worth: `value` units of `currency`
# (OKX ctVal x ctMult in ctValCcy: BTC-USD-SWAP 100 USD, BTC-USDT-SWAP 0.01
# BTC). Sizes of such an instrument are in contracts; size x value is the
# amount in `currency`.
struct Contract {
  value @0 :Decimal;
  currency @1 :Text;
}

# Something that happened to the feed rather than in the market. A replay
# consumer uses these to know where data may be missing.
struct Status {
  enum Kind {
    connected @0;      # a session is connected and subscribed; `count` = the feed's connections
                       # since the connector started (1: a (re)start, books are synced anew)
    disconnected @1;   # a session was lost; data may be missing until `connected`
    gap @2;            # exchange sequence range [fromId, toId] was not received
    resync @3;         # a book was re-synchronized from a snapshot
    heartbeat @4;      # periodic liveness record from the connector
    rollover @5;       # a session was replaced (make-before-break)
    dropped @6;        # `count` records were dropped locally (e.g. full ring)
    subscribed @7;     # a subscription was (re)sent
    rejected @8;       # an input was rejected (malformed, oversized); `detail` says what
  }
  kind @0 :Kind;
  fromId @1 :UInt64;   # first exchange sequence/update id affected (0 if none)
  toId @2 :UInt64;     # last exchange sequence/update id affected (0 if none)
  count @3 :UInt64;    # how many items the status refers to (e.g. dropped records)
  detail @4 :Text;     # human-readable reason, e.g. "connection reset by peer"
}

struct Envelope {
  sequence @0 :UInt64;   # connector-wide sequence: strictly increasing, never reused across restarts
  monoNs @1 :UInt64;     # receive time from the TSC, converted to CLOCK_MONOTONIC nanoseconds
  wallNs @2 :UInt64;     # receive time as wall-clock ns since the Unix epoch, derived from the
                         # same TSC reading through the clock's wall anchor (no clock call on the hot path)
  exchNs @3 :UInt64;     # the exchange's event time, ns since the Unix epoch (0 if the message has none)
  feed @4 :Text;         # configured feed name, e.g. "binance"
  symbol @5 :Text;       # exchange symbol as the exchange spells it, e.g. "BTCUSDT"
  union {
    trade @6 :Trade;
    quote @7 :Quote;
    bookDelta @8 :BookDelta;
    bookSnapshot @9 :BookSnapshot;
    status @10 :Status;
    funding @11 :Funding;
    liquidation @12 :Liquidation;
    openInterest @13 :OpenInterest;
  }
  # The normalized instrument, the subject's symbol token: "BTC-USDT" (spot),
  # "BTC-USDT-PERP" (perpetual), "BTC-USDT-240628" (dated future). Empty on
  # feed-wide status records and on records written before it existed.
  instrument @14 :Text;
  instrumentKind @15 :InstrumentKind;
  # A derivative whose sizes are in contracts: what one contract is worth, as
  # the venue's instruments endpoint states it (OKX). Null for spot, for
  # venues whose sizes are in the base asset, and until the connector has
  # read it (it is fetched at start; records before that have none).
  contract @16 :Contract;
}
