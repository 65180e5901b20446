/**
 * Dockerfiles the convert tests share: each must convert, and the stacker file it gives must load
 * with lib/stackerfile using the substitutions written beside it. `files` are created in the build
 * context before converting (a name ending in `/` is a directory).
 */
export interface DockerfileFixture {
  readonly name: string;
  readonly text: string;
  readonly files?: readonly string[];
}

export const DOCKERFILES: readonly DockerfileFixture[] = [
  {
    name: "single stage",
    text: `FROM debian:12
RUN apt-get update && apt-get install -y curl
CMD ["curl", "--version"]
`,
  },
  {
    name: "multi-stage with ARG, ENV, WORKDIR, COPY --from, USER, VOLUME, LABEL",
    files: ["src/", "src/main.c", "app.conf"],
    text: `# syntax=docker/dockerfile:1
ARG VERSION=1.2.3
ARG BASE=debian:12
FROM \${BASE} AS build
ARG VERSION
ENV PREFIX=/opt/app \\
    PATH=/opt/app/bin:$PATH
WORKDIR /src
COPY src/ ./
RUN mkdir $PREFIX && \\
    # comments inside a continuation are dropped
    echo "\${VERSION}" > $PREFIX/version
RUN ["sh", "-c", "test -d /opt/app"]

FROM busybox:1.36
LABEL org.opencontainers.image.version=$VERSION \\
      "org.example.name"="my app"
MAINTAINER Jane Doe <jane@example.com>
COPY --from=build /opt/app/ /opt/app/
COPY --chown=1000:1000 --chmod=0640 app.conf /etc/app.conf
USER 1000
RUN id -u
VOLUME ["/data", "/logs"]
EXPOSE 8080
ENTRYPOINT ["/opt/app/bin/app"]
CMD ["--serve"]
`,
  },
  {
    name: "scratch with unnamed stages",
    files: ["hello"],
    text: `FROM busybox AS tools
RUN echo built > /built
FROM busybox
RUN echo unnamed > /unnamed
FROM scratch
COPY --from=1 /unnamed /unnamed
COPY --from=tools /built /built
COPY hello /hello
`,
  },
  {
    name: "escape directive with backtick continuations",
    text: "# escape=`\nFROM busybox\nRUN echo a `\n    && echo C:\\path\nENV A=1 B=two` words\nCMD echo $A\n",
  },
  {
    name: "ARG without default and platform ARGs",
    text: `FROM busybox
ARG FLAVOR
ARG TARGETARCH
RUN echo "flavor=$FLAVOR arch=\${TARGETARCH}"
ENV MODE=\${FLAVOR:-plain}
RUN echo $MODE
`,
  },
];
