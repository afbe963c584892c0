// The venue registry: one line per venue. `exchange = "<name>"` selects the
// adapter; config/src/feeds.cpp validates against the same names (a test
// checks they agree).
#include <array>

#include "tickwire/connector/venue.hpp"
#include "venues/binance-usdm/binance_usdm_venue.hpp"
#include "venues/binance/binance_venue.hpp"
#include "venues/bybit/bybit_venue.hpp"
#include "venues/okx/okx_venue.hpp"
#include "venues/kraken/kraken_venue.hpp"
#include "venues/coinbase/coinbase_venue.hpp"

namespace tickwire::connector {
namespace {

const venues::binance::BinanceSpotVenue kBinanceSpot{};
const venues::binance::BinanceUsdmVenue kBinanceUsdm{};

constexpr std::array<const VenueAdapter*, 6> kVenues = {
    &kBinanceSpot,
    &kBinanceUsdm,
    &venues::bybit::kBybitSpot,  // for_feed(): kBybitLinear for category = "linear"
    &venues::okx::kOkxPublic,    // for_feed(): kOkxBusiness for a feed of trades-all
    &venues::kraken::kKraken,
    &venues::coinbase::kCoinbase,
};

}  // namespace

const VenueAdapter* find_venue(std::string_view name) {
  for (const VenueAdapter* v : kVenues) {
    if (v->name() == name) return v;
  }
  return nullptr;
}

const VenueAdapter* find_venue(const config::FeedConfig& feed) {
  const VenueAdapter* v = find_venue(feed.exchange);
  return v == nullptr ? nullptr : &v->for_feed(feed);
}

std::span<const VenueAdapter* const> registered_venues() { return kVenues; }

}  // namespace tickwire::connector
