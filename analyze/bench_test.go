package analyze_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/fixtures"
)

// BenchmarkAnalyzeDockerWhiteouts analyzes, verifying, a docker archive
// (uncompressed layers, as docker save writes them) whose second layer
// deletes a fifth of the first one's files one by one: the image on which
// dive stacks its trees again per whiteout. For a profile:
//
//	go test -run '^$' -bench DockerWhiteouts -cpuprofile cpu.out ./analyze/
//	go tool pprof -top -cum cpu.out
func BenchmarkAnalyzeDockerWhiteouts(b *testing.B) {
	archive := filepath.Join(b.TempDir(), "img.tar")
	if err := fixtures.Whiteouts(1, 20000, 4000, 64<<20).WriteDockerArchive(archive, fixtures.DockerClassic, "img:latest"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		src, err := source.Open("docker-archive:"+archive, source.Options{Verify: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := analyze.Analyze(context.Background(), src.Images()[0], analyze.Options{Verify: true}); err != nil {
			b.Fatal(err)
		}
		if err := src.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
