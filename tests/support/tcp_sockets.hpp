// tcp_sockets: this process's own connected TCP sockets, found by their
// ports, for tests that check the options a component set on a socket it
// keeps to itself (a server's accepted socket, a client's connection).
#pragma once

#include <cstdint>
#include <optional>

namespace tickwire::testing {

// tcp_no_delay: whether TCP_NODELAY is set on the connected socket of this
// process from local_port to peer_port (IPv4); nullopt when there is none.
std::optional<bool> tcp_no_delay(std::uint16_t local_port, std::uint16_t peer_port);

}  // namespace tickwire::testing
