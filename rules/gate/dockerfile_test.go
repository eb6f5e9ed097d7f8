package gate_test

import (
	"strings"
	"testing"

	"github.com/layerlint/layerlint/rules/gate"
)

const dockerfile = `# syntax=docker/dockerfile:1
FROM golang:1.26 AS build
WORKDIR /src
COPY . .
RUN go build -o /out/app ./cmd/app

# the final stage
FROM debian:bookworm-slim
RUN apt-get update && \
    # a comment inside the continuation
    apt-get install -y \
      ca-certificates

COPY --from=build /out/app /usr/local/bin/app
COPY conf/ /etc/app/
ENV MODE=prod
RUN ["chmod", "0755", "/usr/local/bin/app"]
ADD https://example.com/data.tar.gz /data/
`

func TestParseDockerfile(t *testing.T) {
	t.Parallel()
	d, err := gate.ParseDockerfile(strings.NewReader(dockerfile), "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	want := []gate.Instruction{
		{Line: 9, Cmd: "RUN", Args: "apt-get update && apt-get install -y ca-certificates"},
		{Line: 14, Cmd: "COPY", Args: "--from=build /out/app /usr/local/bin/app"},
		{Line: 15, Cmd: "COPY", Args: "conf/ /etc/app/"},
		{Line: 16, Cmd: "ENV", Args: "MODE=prod"},
		{Line: 17, Cmd: "RUN", Args: `["chmod", "0755", "/usr/local/bin/app"]`},
		{Line: 18, Cmd: "ADD", Args: "https://example.com/data.tar.gz /data/"},
	}
	if len(d.Instructions) != len(want) {
		t.Fatalf("instructions %+v", d.Instructions)
	}
	for i, w := range want {
		if d.Instructions[i] != w {
			t.Errorf("instruction %d: %+v, want %+v", i, d.Instructions[i], w)
		}
	}
	bt, err := gate.ParseDockerfile(strings.NewReader("# escape=`\nFROM x\nRUN echo a `\n  b\n"), "D")
	if err != nil || len(bt.Instructions) != 1 || bt.Instructions[0].Args != "echo a b" {
		t.Errorf("backtick escape: %+v %v", bt, err)
	}
	if _, err := gate.ParseDockerfile(strings.NewReader("RUN x\n"), "D"); err == nil || !strings.Contains(err.Error(), "D: no FROM") {
		t.Errorf("no FROM: %v", err)
	}
}

// TestMapLayers places layers made by BuildKit and by the classic builder
// on the instructions that made them; base layers and unmatched history
// get no line.
func TestMapLayers(t *testing.T) {
	t.Parallel()
	d, err := gate.ParseDockerfile(strings.NewReader(dockerfile), "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		history []string
		base    int
		want    []int
	}{
		{
			name: "buildkit",
			history: []string{
				"# debian.sh --arch 'amd64' out/ 'bookworm' '@1700000000'",
				"RUN /bin/sh -c apt-get update &&     apt-get install -y       ca-certificates # buildkit",
				"COPY /out/app /usr/local/bin/app # buildkit",
				"COPY conf/ /etc/app/ # buildkit",
				"RUN chmod 0755 /usr/local/bin/app # buildkit",
				"ADD https://example.com/data.tar.gz /data/ # buildkit",
			},
			base: 1,
			want: []int{0, 9, 14, 15, 17, 18},
		},
		{
			name: "classic",
			history: []string{
				"/bin/sh -c #(nop) ADD file:4b03b5f551e3fbdf47ec609712007327828f7530cc3455c43bbcdcaf449a75a9 in / ",
				"|1 DEBIAN_FRONTEND=noninteractive /bin/sh -c apt-get update &&     apt-get install -y       ca-certificates",
				"/bin/sh -c #(nop) COPY file:9d7e1b6e1b3c in /usr/local/bin/app ",
				"/bin/sh -c #(nop) COPY dir:0a1b2c3d in /etc/app/ ",
				"chmod 0755 /usr/local/bin/app",
				"/bin/sh -c #(nop) ADD file:77aa in /data/ ",
			},
			base: 1,
			want: []int{0, 9, 14, 15, 0, 18},
		},
		{
			name:    "unknown steps keep their place",
			history: []string{"ADD rootfs.tar /", "RUN make", "COPY conf/ /etc/app/ # buildkit"},
			base:    1,
			want:    []int{0, 0, 15},
		},
		{
			name:    "base layers are never matched",
			history: []string{"COPY conf/ /etc/app/ # buildkit"},
			base:    1,
			want:    []int{0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := d.MapLayers(tt.history, tt.base)
			for i := range tt.want {
				if got[i] != tt.want[i] {
					t.Errorf("layer %d (%q): line %d, want %d", i, tt.history[i], got[i], tt.want[i])
				}
			}
		})
	}
}
