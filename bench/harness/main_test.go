package harness

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/driftcar/driftcar/internal/testupstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, testupstream.GoleakOptions...) }
