# Warnings are errors in our code only; dependencies live in /usr/include and
# are treated as system headers by the compiler.
add_library(tickwire_warnings INTERFACE)
target_compile_options(tickwire_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror)
# clang's -Wconversion also turns on -Wsign-conversion, which g++'s does not
# for C++; the standard here is g++'s (the fuzz build is the only clang one).
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  target_compile_options(tickwire_warnings INTERFACE -Wno-sign-conversion)
endif()

# Sanitizers and tuning apply to everything we compile (tests and benches too).
if(TICKWIRE_SANITIZE)
  add_compile_options(-fsanitize=${TICKWIRE_SANITIZE} -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${TICKWIRE_SANITIZE})
  if(TICKWIRE_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
  if(TICKWIRE_SANITIZE STREQUAL "thread")
    add_compile_definitions(TICKWIRE_TSAN=1)
    # g++ 12 warns that TSan does not model Asio's atomic_thread_fence; the
    # fences Asio uses pair with atomics TSan does see, so the warning is noise.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      add_compile_options(-Wno-tsan)
    endif()
  endif()
endif()
if(TICKWIRE_NATIVE)
  add_compile_options(-march=native)
endif()

# tickwire_library(folder [SOURCES extra...] [PUBLIC deps...] [PRIVATE deps...]
#                  [DEFINES public-definitions...] [EXCLUDE_DIR dir]):
# a static library from FOLDER/src/*.cpp (minus src/EXCLUDE_DIR/, which holds
# another target's sources) with public headers under
# FOLDER/include, exported as tickwire::FOLDER. A folder with no sources yet is
# an interface (header-only) library with the same name and dependencies.
function(tickwire_library folder)
  cmake_parse_arguments(ARG "" "EXCLUDE_DIR" "SOURCES;PUBLIC;PRIVATE;DEFINES" ${ARGN})
  file(GLOB_RECURSE _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp)
  list(FILTER _srcs EXCLUDE REGEX "/src/main\\.cpp$")
  if(ARG_EXCLUDE_DIR)
    list(FILTER _srcs EXCLUDE REGEX "/src/${ARG_EXCLUDE_DIR}/")
  endif()
  list(APPEND _srcs ${ARG_SOURCES})
  set(_lib tickwire_${folder})
  if(_srcs)
    add_library(${_lib} STATIC ${_srcs})
    set_target_properties(${_lib} PROPERTIES POSITION_INDEPENDENT_CODE ON)
    target_include_directories(${_lib} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
    target_link_libraries(${_lib} PUBLIC ${ARG_PUBLIC} PRIVATE ${ARG_PRIVATE} $<BUILD_INTERFACE:tickwire_warnings>)
    set(_scope PUBLIC)
  else()
    add_library(${_lib} INTERFACE)
    target_link_libraries(${_lib} INTERFACE ${ARG_PUBLIC} ${ARG_PRIVATE})
    set(_scope INTERFACE)
  endif()
  add_library(tickwire::${folder} ALIAS ${_lib})
  set_target_properties(${_lib} PROPERTIES EXPORT_NAME ${folder})
  target_compile_definitions(${_lib} ${_scope} ${ARG_DEFINES})
  target_include_directories(${_lib} ${_scope}
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:include>)
endfunction()
