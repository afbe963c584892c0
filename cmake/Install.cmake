# `cmake --install build/<preset> --prefix P` lays out an importable tickwire:
#   P/include/tickwire/<folder>/*.hpp     public headers of every folder
#   P/include/tickwire/proto/*.capnp.h    the generated Cap'n Proto header
#   P/lib/libtickwire_<folder>.a          static libraries
#   P/bin/tickwire                        the command
#   P/share/tickwire/market_data.capnp    the schema (for `capnp decode`, other languages)
#   P/lib/cmake/tickwire/                 find_package(tickwire CONFIG): targets tickwire::<folder>
#   P/lib/pkgconfig/tickwire.pc           the toolkit (middleware + proto) for non-CMake builds
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(_tw_folders proto middleware journal config connector)
set(_tw_targets)
foreach(_folder ${_tw_folders})
  list(APPEND _tw_targets tickwire_${_folder})
  if(EXISTS ${PROJECT_SOURCE_DIR}/${_folder}/include)
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/${_folder}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
            FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")
  endif()
endforeach()
list(APPEND _tw_targets tickwire_transport)   # middleware/src/transport: a second target in that folder

install(TARGETS ${_tw_targets} EXPORT tickwireTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS tickwire RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_BINARY_DIR}/proto/gen/tickwire/proto/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tickwire/proto
        FILES_MATCHING PATTERN "*.capnp.h")
install(FILES ${TICKWIRE_SCHEMA} DESTINATION ${CMAKE_INSTALL_DATADIR}/tickwire)

set(_tw_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/tickwire)
# The way back up to the prefix from the package and pkg-config directories.
file(RELATIVE_PATH _tw_cmake_up /p/${_tw_cmake_dir} /p)
file(RELATIVE_PATH _tw_pc_up /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
install(EXPORT tickwireTargets NAMESPACE tickwire:: DESTINATION ${_tw_cmake_dir})

# The package config finds what the exported targets link, the way the build
# found it (cmake/Dependencies.cmake); nats.c through pkg-config because its
# Debian CMake config is broken (../shared/STACK.md).
file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/tickwireConfig.cmake @ONLY CONTENT [=[
# tickwire @PROJECT_VERSION@: find_package(tickwire CONFIG REQUIRED), then link
# tickwire::transport (in-process, shm and NATS transports, catch-up),
# tickwire::middleware (rings, clock, ...), tickwire::proto (the
# Envelope schema), tickwire::journal, tickwire::config or tickwire::connector.
include(CMakeFindDependencyMacro)
find_dependency(Threads)
find_dependency(absl CONFIG)
find_dependency(fmt 9 CONFIG)
find_dependency(spdlog 1.10 CONFIG)
find_dependency(CapnProto CONFIG)
find_dependency(Boost 1.81 CONFIG)
find_dependency(OpenSSL 3)
find_dependency(simdjson 3 CONFIG)
find_dependency(tomlplusplus 3 CONFIG)
find_dependency(CLI11 2 CONFIG)
find_dependency(PkgConfig)
if(NOT TARGET PkgConfig::NATS)
  pkg_check_modules(NATS REQUIRED IMPORTED_TARGET libnats)
endif()
include(${CMAKE_CURRENT_LIST_DIR}/tickwireTargets.cmake)
set(TICKWIRE_SCHEMA ${CMAKE_CURRENT_LIST_DIR}/@_tw_cmake_up@/@CMAKE_INSTALL_DATADIR@/tickwire/market_data.capnp)
get_filename_component(TICKWIRE_SCHEMA ${TICKWIRE_SCHEMA} ABSOLUTE)
]=])
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tickwireConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/tickwireConfig.cmake ${PROJECT_BINARY_DIR}/tickwireConfigVersion.cmake
        DESTINATION ${_tw_cmake_dir})

# pkg-config: paths relative to the .pc file, so the tree can be moved.
file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/tickwire.pc @ONLY CONTENT [=[
prefix=${pcfiledir}/@_tw_pc_up@
includedir=${prefix}/@CMAKE_INSTALL_INCLUDEDIR@
libdir=${prefix}/@CMAKE_INSTALL_LIBDIR@

Name: tickwire
Description: tickwire middleware toolkit (transports, rings, clock, histogram) and the Envelope schema
Version: @PROJECT_VERSION@
Requires: libnats spdlog fmt capnp absl_status absl_statusor absl_flat_hash_map
Cflags: -I${includedir} -std=c++20
Libs: -L${libdir} -ltickwire_transport -ltickwire_journal -ltickwire_middleware -ltickwire_proto -pthread
]=])
install(FILES ${PROJECT_BINARY_DIR}/tickwire.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
