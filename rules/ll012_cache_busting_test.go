package rules_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/rules"
)

// history builds an image from Dockerfile-like steps: a step whose
// created_by is prefixed with "empty:" has no layer; the others get a layer
// holding one file of size bytes. Layer 0 is the base.
func history(size int, steps ...string) *fixtures.Image {
	img := fixtures.NewImage().Add(fixtures.NewLayer().Dir("etc").File("etc/os-release", []byte("ID=x\n")), fixtures.CreatedBy("ADD rootfs.tar /"))
	for i, s := range steps {
		if rest, ok := strings.CutPrefix(s, "empty:"); ok {
			img.EmptyLayer(rest)
			continue
		}
		img.Add(fixtures.NewLayer().File(fmt.Sprintf("step/%d", i), content(size, byte(i))), fixtures.CreatedBy(s))
	}
	return img
}

func TestCacheBustingOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		steps []string
		want  []want
	}{
		{
			name: "buildkit copy then npm ci",
			steps: []string{
				"empty:WORKDIR /app",
				"COPY . /app # buildkit",
				"RUN /bin/sh -c npm ci # buildkit",
			},
			want: []want{{1, "app", 300}},
		},
		{
			name: "buildkit relative destination, flags, build args, empty steps between",
			steps: []string{
				"empty:WORKDIR /srv",
				"empty:WORKDIR app",
				"COPY --chown=node:node --link . . # buildkit",
				"empty:ENV NODE_ENV=production",
				"RUN |1 NODE_ENV=production /bin/sh -c apt-get update && pip install --no-cache-dir -r requirements.txt # buildkit",
			},
			want: []want{{1, "srv/app", 300}},
		},
		{
			name: "classic dir copy into the workdir then go mod download",
			steps: []string{
				"empty:/bin/sh -c #(nop) WORKDIR /go/src/app",
				"/bin/sh -c #(nop) COPY dir:6f1e2a0c9d in . ",
				"/bin/sh -c go mod download",
			},
			want: []want{{1, "go/src/app", 300}},
		},
		{
			name: "ADD of the context, install in an empty step, two installs",
			steps: []string{
				"ADD . /app # buildkit",
				"empty:RUN /bin/sh -c cd /app && bundle install # buildkit",
				"RUN /bin/sh -c ./gradlew --no-daemon dependencies # buildkit",
			},
			// The first install after the copy is named; it made no layer.
			want: []want{{1, "app", 0}},
		},
		{
			name: "JSON form, unknown workdir",
			steps: []string{
				`COPY [".", "./"] # buildkit`,
				"RUN /bin/sh -c mvn -B dependency:go-offline # buildkit",
			},
			want: []want{{1, "", 300}},
		},
		{
			name: "manifest copied first: the right order",
			steps: []string{
				"empty:WORKDIR /app",
				"COPY package.json package-lock.json ./ # buildkit",
				"RUN /bin/sh -c npm ci # buildkit",
				"COPY . . # buildkit",
				"RUN /bin/sh -c npm run build # buildkit",
			},
		},
		{
			name: "classic dir copy elsewhere than the workdir",
			steps: []string{
				"empty:/bin/sh -c #(nop) WORKDIR /app",
				"/bin/sh -c #(nop) COPY dir:6f1e2a0c9d in /usr/share/nginx/html ",
				"/bin/sh -c #(nop) COPY file:0a1b2c in /app/package.json ",
				"/bin/sh -c npm install",
			},
		},
		{
			name: "copy from another stage",
			steps: []string{
				"COPY --from=build . /app # buildkit",
				"RUN /bin/sh -c composer install # buildkit",
			},
		},
		{
			name: "near-miss commands",
			steps: []string{
				"COPY . /app # buildkit",
				"RUN /bin/sh -c npm run ci-lint && pip install flask && cargo test && echo yarn-install # buildkit",
			},
		},
	}
	r := ruleByID(t, "LL012")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Check(facts(t, history(300, tt.steps...), rules.Options{}))
			var gotW []want
			for _, g := range got {
				gotW = append(gotW, want{g.Layer, g.Path, g.Bytes})
				checkFinding(t, r, g)
			}
			if !slices.Equal(gotW, tt.want) {
				t.Errorf("got %v, want %v", gotW, tt.want)
				for _, g := range got {
					t.Logf("%+v", g)
				}
			}
		})
	}
}

// TestCacheBustingInBase checks that the base image's own steps are not
// reported: the user cannot reorder them.
func TestCacheBustingInBase(t *testing.T) {
	t.Parallel()
	img := fixtures.NewImage().
		Add(fixtures.NewLayer().File("app/x", content(10, 1)), fixtures.CreatedBy("COPY . /app # buildkit")).
		Add(fixtures.NewLayer().File("app/node_modules/y", content(10, 2)), fixtures.CreatedBy("RUN /bin/sh -c npm ci # buildkit"))
	if got := ruleByID(t, "LL012").Check(facts(t, img, rules.Options{})); len(got) != 0 {
		t.Errorf("got %+v, want nothing for a base layer", got)
	}
}
