# nebula-serve as a small image: a release build with the Swift runtime and Foundation linked statically,
# on a slim runtime with only glibc. Functions come from /functions (a volume, or baked in below).
#   docker build -t nebula-serve .
#   docker run -p 8080:8080 -v $PWD/functions:/functions nebula-serve
FROM swift:6.3-bookworm AS build
WORKDIR /src
COPY Package.swift ./
COPY Sources Sources
COPY Benchmarks Benchmarks
COPY Tests Tests
COPY spec-tests spec-tests
RUN swift build -c release --static-swift-stdlib --product nebula-serve \
 && cp "$(swift build -c release --show-bin-path)/nebula-serve" /nebula-serve

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 nebula && mkdir /functions && chown nebula /functions
COPY --from=build /nebula-serve /usr/local/bin/nebula-serve
# The example functions; a deployment mounts its own directory over this.
COPY functions/*.wasm /functions/
USER nebula
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/nebula-serve", "--host", "0.0.0.0", "--port", "8080", "--functions", "/functions"]
