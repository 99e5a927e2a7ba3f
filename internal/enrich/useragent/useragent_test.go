package useragent

import (
	"fmt"
	"sync"
	"testing"

	"github.com/trawl-project/trawl/internal/event"
)

// cases are user agents from the shared corpus (CloudTrail samples of
// elastic-integrations, Stratus Red Team / Grimoire recordings, AWS's
// documentation examples), from trawl's generator, and AWS's documented
// SDK formats, with the class, family, version and OS they must get.
var cases = []struct{ ua, want string }{
	// console and sign-in
	{"signin.amazonaws.com", "console|signin.amazonaws.com||"},
	{"console.amazonaws.com", "console|console.amazonaws.com||"},
	{"console.ec2.amazonaws.com", "console|console.ec2.amazonaws.com||"},
	{"AWSConsole", "console|AWSConsole||"},
	{"[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.783 Linux/5.10.238-211.938.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.452-b09 java/1.8.0_452 vendor/Oracle_Corporation cfg/retry-mode/standard]", "console|S3Console|0.4|"},
	{"EC2ConsoleBackend, aws-sdk-java/Linux/x.xx.fleetxen Java_HotSpot(TM)_64-Bit_Server_VM/xx", "console|EC2ConsoleBackend||"},
	// AWS services
	{"AWS Internal", "aws-service|AWS Internal||"},
	{"ec2.amazonaws.com", "aws-service|ec2.amazonaws.com||"},
	{"ssm.amazonaws.com", "aws-service|ssm.amazonaws.com||"},
	{"config.amazonaws.com", "aws-service|config.amazonaws.com||"},
	{"lambda.amazonaws.com.cn", "aws-service|lambda.amazonaws.com.cn||"},
	{"cloudformation.amazonaws.com", "cloudformation|AWS CloudFormation||"},
	{"AWS CloudFormation", "cloudformation|AWS CloudFormation||"},
	// AWS CLI v1 and v2
	{"aws-cli/1.16.310 Python/3.8.1 Darwin/18.7.0 botocore/1.13.46", "aws-cli|aws-cli|1.16.310|Mac OS X"},
	{"aws-cli/1.3.2 Python/2.7.5 Windows/7", "aws-cli|aws-cli|1.3.2|Windows"},
	{"[aws-cli/1.11.10 Python/2.7.8 Linux/3.2.45-0.6.wd.865.49.315.metal1.x86_64 botocore/1.4.67]", "aws-cli|aws-cli|1.11.10|Linux"},
	{"aws-cli/2.14.5 Python/3.11.6 Darwin/23.6.0 exec-env/grimoire_7ea17849 exe/x86_64 prompt/off command/rds.create-db-instance", "aws-cli|aws-cli|2.14.5|Mac OS X"},
	{"aws-cli/2.18.17 md/awscrt#0.22.0 ua/2.0 os/linux#6.8.0-1016-aws md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#ssm.send-command", "aws-cli|aws-cli|2.18.17|Linux"},
	{"[aws-cli/2.17.60 md/awscrt#0.21.2 ua/2.0 os/macos#23.6.0 md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#s3api.copy-object]", "aws-cli|aws-cli|2.17.60|Mac OS X"},
	{"aws-cli/2.31.4 md/awscrt#0.28.1 ua/2.1 os/windows#11 md/arch#amd64 lang/python#3.13.7 md/pyimpl#CPython m/E cfg/retry-mode#standard md/installer#exe md/prompt#off", "aws-cli|aws-cli|2.31.4|Windows"},
	// SDKs
	{"Boto3/1.35.50 md/Botocore#1.35.50 ua/2.0 os/linux#6.8.0-1016-aws md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.50", "sdk-python|Boto3|1.35.50|Linux"},
	{"Botocore/1.31.0 ua/2.0 os/linux#5.15 md/arch#x86_64 lang/python#3.11.4", "sdk-python|Botocore|1.31.0|Linux"},
	{"m/E aws-sdk-go-v2/1.30.1 os/linux lang/go#1.22.6 md/GOOS#linux md/GOARCH#arm64 api/iam#1.34.1", "sdk-go|aws-sdk-go-v2|1.30.1|Linux"},
	{"aws-sdk-go/1.55.5 (go1.23.8; windows; amd64) exec-env/EC2 amazon-ssm-agent/3.3.2471.0", "sdk-go|aws-sdk-go|1.55.5|Windows"},
	{"CWAgent/1.300060.0 (go1.24.6; linux; amd64) ip-10-0-0-0 aws-sdk-go/1.55.7", "sdk-go|aws-sdk-go|1.55.7|Linux"},
	{"aws-sdk-java/1.12.788 Linux/5.10.240-238.959.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.16+8-LTS java/17.0.16 vendor/Amazon.com_Inc. cfg/retry-mode/standard", "sdk-java|aws-sdk-java|1.12.788|Linux"},
	{"aws-sdk-java/2.33.4 ua/2.1 os/Linux#5.10.240-258.930.amzn2.x86_64 lang/java#21.0.8 md/OpenJDK_64-Bit_Server_VM#21.0.8+9-LTS exec-env/AWS_ECS_FARGATE", "sdk-java|aws-sdk-java|2.33.4|Linux"},
	{"aws-sdk-js/3.864.0 ua/2.1 os/linux#5.10.240-258.930.amzn2.x86_64 lang/js md/nodejs#22.17.1 exec-env/AWS_Lambda_nodejs22.x m/N,E,e", "sdk-js|aws-sdk-js|3.864.0|Linux"},
	{"aws-sdk-nodejs/2.1384.0 darwin/v20.16.0 AWS-Toolkit-For-VSCode/3.31.0 Visual-Studio-Code/1.94.2 ClientId/37f8324b promise", "sdk-js|aws-sdk-nodejs|2.1384.0|Mac OS X"},
	{"aws-sdk-dotnet-coreclr/3.7.300.0 aws-sdk-dotnet-core/3.7.300.0 .NET_Core/6.0.0 OS/Microsoft_Windows_10.0.17763 ClientAsync", "sdk-dotnet|aws-sdk-dotnet-coreclr|3.7.300.0|Windows"},
	{"aws-sdk-ruby3/3.170.0 ua/2.0 api/s3#1.126.0 os/linux md/x86_64 lang/ruby#3.2.2 md/3.2.2", "sdk-ruby|aws-sdk-ruby3|3.170.0|Linux"},
	{"aws-sdk-php/3.281.0 ua/2.0 OS/Linux/5.15.0 lang/php#8.2.10 GuzzleHttp/7", "sdk-php|aws-sdk-php|3.281.0|Linux"},
	{"aws-sdk-cpp/1.11.150 ua/2.0 md/aws-crt#0.24.1 os/Linux#5.15.0 md/arch#x86_64 lang/c++#C++11 md/GCC#11.4.0", "sdk-cpp|aws-sdk-cpp|1.11.150|Linux"},
	{"aws-sdk-rust/1.0.1 os/linux lang/rust/1.72.0", "sdk-rust|aws-sdk-rust|1.0.1|Linux"},
	{"aws-sdk-kotlin/1.0.0 ua/2.0 api/s3#1.0.0 os/macos#14.0 lang/kotlin#1.9.20 md/javaVersion#17", "sdk-kotlin|aws-sdk-kotlin|1.0.0|Mac OS X"},
	{"AWSPowerShell.Common/4.1.400.0 .NET_Runtime/4.0 .NET_Framework/4.0 OS/Microsoft_Windows_NT_10.0.19045.0 WindowsPowerShell/5.0 ClientSync", "sdk-powershell|AWSPowerShell.Common|4.1.400.0|Windows"},
	// Terraform, before the SDK it embeds
	{"APN/1.0 HashiCorp/1.0 Terraform/1.9.6 (+https://www.terraform.io) terraform-provider-aws/5.73.0 (+https://registry.terraform.io/providers/hashicorp/aws) m/C aws-sdk-go-v2/1.32.2 os/macos lang/go#1.23.2 md/GOOS#darwin md/GOARCH#arm64 api/iam#1.37.2", "terraform|Terraform|1.9.6|Mac OS X"},
	{"APN/1.0 HashiCorp/1.0 Terraform/1.11.0 (+https://www.terraform.io) terraform-provider-aws/4.61.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.44.232 (go1.19.7; linux; amd64)", "terraform|Terraform|1.11.0|Linux"},
	// browsers
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "browser|Chrome|131.0.0|Windows"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36", "browser|Chrome|140.0.0|Mac OS X"},
	{"Mozilla/5.0 (Windows NT 6.1; WOW64; rv:24.0) Gecko/20100101 Firefox/24.0", "browser|Firefox|24.0|Windows"},
	{"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0", "browser|Firefox|140.0|Linux"},
	// others
	{"Go-http-client/1.1", "unknown|Go-http-client|1.1|"},
	{"REDACTED", "unknown|REDACTED||"},
	{"curl/8.5.0", "unknown|curl|8.5.0|"},
	{"python-requests/2.31.0", "unknown|Python Requests|2.31|"},
}

func str(u *event.UserAgent) string {
	if u == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s|%s|%s|%s", u.Class, u.Family, u.Version, u.OS)
}

func TestClassify(t *testing.T) {
	c := New()
	for _, tc := range cases {
		for range 2 { // the second answer comes from the cache
			if got := str(c.Classify(tc.ua)); got != tc.want {
				t.Errorf("%q:\n got %s\nwant %s", tc.ua, got, tc.want)
			}
		}
	}
	if got := c.Classify(""); got != nil {
		t.Errorf("empty user agent: %s", str(got))
	}
}

// TestCacheDoesNotKeepRecords checks that cached results hold copies, not
// substrings of the text the user agent came from.
func TestCacheDoesNotKeepRecords(t *testing.T) {
	c := New()
	raw := `{"userAgent":"trawltest/1.0 x","other":"aws-cli/2.13.0 Python/3"}`
	for _, ua := range []string{raw[14:29], raw[40:64]} {
		if r := c.Classify(ua); r.Version == "" {
			t.Fatalf("%q: no version", ua)
		}
	}
	// The cached key and fields must not point into raw.
	for i := range c.shards {
		for k, v := range c.shards[i].m {
			if sameMemory(k, raw) || sameMemory(v.Family, raw) || sameMemory(v.Version, raw) {
				t.Errorf("cache entry %q shares memory with the record", k)
			}
		}
	}
}

// TestConcurrent classifies from several goroutines at once, with more
// distinct user agents than the cache holds, against the uncached answer.
func TestConcurrent(t *testing.T) {
	c := New()
	var uas []string
	for i := range numShards * shardSize * 2 {
		uas = append(uas, fmt.Sprintf("aws-cli/2.%d.%d Python/3.11.6 Linux/6.1", i/100, i%100))
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(uas); i += 3 {
				want := fmt.Sprintf("aws-cli|aws-cli|2.%d.%d|Linux", i/100, i%100)
				if got := str(c.Classify(uas[i])); got != want {
					t.Errorf("%q: %s, want %s", uas[i], got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i := range c.shards {
		if n := len(c.shards[i].m); n > shardSize {
			t.Errorf("shard %d holds %d entries, more than %d", i, n, shardSize)
		}
	}
}

func BenchmarkClassifyCached(b *testing.B) {
	c := New()
	for _, tc := range cases {
		c.Classify(tc.ua)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.Classify(cases[i%len(cases)].ua)
	}
}

func BenchmarkAWSUncached(b *testing.B) {
	uas := []string{cases[17].ua, cases[19].ua, cases[36].ua, cases[8].ua}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		AWS(uas[i%len(uas)])
	}
}

func BenchmarkBrowserUncached(b *testing.B) {
	c := New()
	c.uap() // compile the regexes outside the timing
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// distinct strings: uap-go has a cache of its own
		c.parse(fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.%d.0 Safari/537.36", 100+i%50, i))
	}
}
