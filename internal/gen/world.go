package gen

import (
	"fmt"
	"strconv"
	"strings"
)

// The world is the fictional organization ("Northwind") the logs describe:
// its accounts, people, roles, networks and resources. It is built once from
// the seed and only read afterwards, by all three generators.

const (
	company     = "northwind"
	emailDomain = "northwind.example"
)

// pkind is a kind of caller; each API lists the kinds that call it.
type pkind uint8

const (
	kSSO     pkind = iota // a person through an IAM Identity Center role, CLI/SDK
	kConsole              // a person through an Identity Center role, in the console
	kCI                   // an IAM user with a long-term key used by CI/Terraform
	kApp                  // an IAM user with a long-term key used by an old application
	kEC2                  // an EC2 instance role
	kLambda               // a Lambda execution role
	kECS                  // an ECS task role
	kConfig               // the AWS Config service-linked role
	kAudit                // the security team's audit role, used from the security account
	kService              // an AWS service (type AWSService)
	kXAcct                // another account of the organization (type AWSAccount)
	kRoot                 // the root user
	kOIDC                 // GitHub Actions through web identity federation
	kSAML                 // the Identity Center SAML federation into a role
	kFed                  // a federated user (GetFederationToken)
	kIDC                  // an Identity Center user (type IdentityCenterUser)
	kHuman                // an IAM user that is a person, signing in to the console
	numKinds
)

// principal is an identity that makes calls.
type principal struct {
	kind        pkind
	acct        *account
	typ         string // userIdentity.type
	name        string // user or role name
	path        string // IAM path of a role ("/" or "/aws-reserved/sso.amazonaws.com/")
	arn         string // user ARN, role ARN, root ARN
	principalID string // AIDA… for users, AROA… for roles
	accessKey   string // AKIA… for IAM users
	session     string // fixed role session name, if any
	mfaDevice   string // MFA device ARN for people
	human       *human // for IAM users that are people
	issuer      *principal
}

// human is a person of the company.
type human struct {
	name   string // "maria.gonzalez"
	email  string
	idcID  string // Identity Store user id
	remote string // the person's home IP, used now and then
}

// account is one account of the organization.
type account struct {
	idx         int
	id, name    string
	role        string // name, or "workload" beyond the named ones
	ctWeight    float64
	flowWeight  float64
	gdWeight    float64
	princ       [numKinds][]*principal
	nets        []*network // one per world.regions entry
	buckets     []bucket
	lambdas     []string
	ecs         []string
	tables      []string
	secrets     []string // name-suffix
	params      []string
	rds         string
	kmsKeys     [][]string // per world.ctRegions entry
	kmsARNs     [][]string // the keys' ARNs
	bucketNames [][]string // per world.ctRegions entry, like buckets
	detectors   []string   // GuardDuty detector id per world.regions entry
	flowV2      bool       // flow logs in the default format
	users       []*principal
}

// bucket is an S3 bucket base name and the kind of objects it holds; the
// bucket in a region is base-<region>.
type bucket struct {
	base string
	kind int
}

const (
	bkAssets = iota
	bkExports
	bkLake
	bkBackups
	bkArtifacts
	bkFindings
	bkState
)

// world is the whole organization.
type world struct {
	cfg        *Config
	seed       uint64
	start, end int64 // Unix seconds
	regions    []string
	ctRegions  []string // regions with CloudTrail files: Regions, plus us-east-1
	accounts   []*account
	mgmt       *account
	security   *account
	victim     *account
	humans     []*human
	idStore    string // identity store id d-…
	trailName  string
	trailARN   string
	trailHome  string
	trailBkt   string
	keyFinger  []string // digest public key fingerprint per ctRegions entry
	corpIPs    []string
	ciIPs      []string
	ghIPs      []string
	ssoSuffix  map[string]string
}

var accountNames = []string{"management", "security", "prod", "dev", "staging", "data", "sandbox", "shared-services", "log-archive", "network"}

// Relative activity of each account for CloudTrail, flow logs and GuardDuty.
var accountWeights = map[string][3]float64{
	"management":      {0.7, 0.3, 0.2},
	"security":        {1.1, 0.5, 0.3},
	"prod":            {3.5, 3.5, 3.0},
	"dev":             {2.0, 1.5, 1.5},
	"staging":         {1.0, 1.0, 0.8},
	"data":            {1.4, 1.2, 0.8},
	"sandbox":         {0.5, 0.4, 1.0},
	"shared-services": {0.8, 0.9, 0.4},
	"log-archive":     {0.3, 0.1, 0.1},
	"network":         {0.6, 1.5, 0.5},
	"workload":        {0.8, 0.8, 0.6},
}

var humanNames = []string{
	"maria.gonzalez", "tom.becker", "aiko.tanaka", "li.wei", "olivia.smith",
	"noah.johnson", "fatima.khan", "lukas.schmidt", "emma.dubois", "raj.patel",
}

// Corporate egress addresses (office NAT) and home addresses of people.
// These ranges are in the MaxMind GeoIP2 test databases, so a geo enricher
// finds them in test fixtures.
var (
	corpIPs   = []string{"81.2.69.142", "81.2.69.144", "81.2.69.160", "89.160.20.112", "89.160.20.128"}
	remoteIPs = []string{"216.160.83.56", "2.125.160.216", "175.16.199.12", "67.43.156.14", "89.160.20.156", "81.2.69.192"}
)

func newWorld(cfg *Config) *world {
	r := newRng(cfg.Seed, streamWorld)
	w := &world{
		cfg:       cfg,
		seed:      cfg.Seed,
		start:     cfg.Start.Unix(),
		end:       cfg.Start.Add(cfg.Duration).Unix(),
		regions:   cfg.Regions,
		trailName: "organization-trail",
		trailHome: "us-east-1",
		corpIPs:   corpIPs,
		ssoSuffix: map[string]string{},
	}
	w.ctRegions = append([]string(nil), cfg.Regions...)
	if w.regionIndex("us-east-1") < 0 {
		w.ctRegions = append(w.ctRegions, "us-east-1")
	}
	for i, n := range humanNames {
		h := &human{name: n, email: n + "@" + emailDomain, idcID: uuidStr(r), remote: remoteIPs[i%len(remoteIPs)]}
		w.humans = append(w.humans, h)
	}
	w.idStore = "d-" + hexStr(r, 10)
	for range w.ctRegions {
		w.keyFinger = append(w.keyFinger, hexStr(r, 32))
	}
	w.ciIPs = []string{awsIP(r, "us-east-1"), awsIP(r, "us-east-1")}
	w.ghIPs = []string{"20.57.72." + strconv.Itoa(r.between(2, 250)), "172.183.42." + strconv.Itoa(r.between(2, 250)), "4.175.118." + strconv.Itoa(r.between(2, 250))}
	for _, ps := range []string{"AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess"} {
		w.ssoSuffix[ps] = hexStr(r, 16)
	}

	used := map[string]bool{}
	for i := 0; i < cfg.Accounts; i++ {
		var id string
		for {
			id = strconv.Itoa(r.between(1, 9)) + fmt.Sprintf("%011d", r.Int64N(100000000000))
			if !used[id] {
				used[id] = true
				break
			}
		}
		name := fmt.Sprintf("workload-%02d", i-len(accountNames)+1)
		role := "workload"
		if i < len(accountNames) {
			name, role = accountNames[i], accountNames[i]
		}
		wt := accountWeights[role]
		a := &account{idx: i, id: id, name: name, role: role, ctWeight: wt[0], flowWeight: wt[1], gdWeight: wt[2]}
		w.accounts = append(w.accounts, a)
	}
	w.mgmt = w.accounts[0]
	w.security = w.mgmt
	if len(w.accounts) > 1 {
		w.security = w.accounts[1]
	}
	w.victim = w.accounts[len(w.accounts)-1]
	if len(w.accounts) > 2 {
		w.victim = w.accounts[2]
	}
	if len(w.accounts) > 3 {
		w.accounts[3].flowV2 = true // dev keeps the default flow-log format
	}
	logArchive := w.mgmt
	for _, a := range w.accounts {
		if a.role == "log-archive" {
			logArchive = a
		}
	}
	w.trailBkt = "aws-cloudtrail-logs-" + logArchive.id + "-" + hexStr(r, 8)
	w.trailARN = "arn:aws:cloudtrail:" + w.trailHome + ":" + w.mgmt.id + ":trail/" + w.trailName

	for _, a := range w.accounts {
		w.buildResources(a, r)
		for ri, region := range w.regions {
			a.nets = append(a.nets, w.buildNetwork(a, region, ri, r))
			a.detectors = append(a.detectors, hexStr(r, 32))
		}
		for _, region := range w.ctRegions {
			keys := []string{uuidStr(r), uuidStr(r)}
			a.kmsKeys = append(a.kmsKeys, keys)
			var arns, names []string
			for _, k := range keys {
				arns = append(arns, "arn:aws:kms:"+region+":"+a.id+":key/"+k)
			}
			for _, b := range a.buckets {
				names = append(names, b.base+"-"+region)
			}
			a.kmsARNs = append(a.kmsARNs, arns)
			a.bucketNames = append(a.bucketNames, names)
		}
	}
	for _, a := range w.accounts {
		w.buildPrincipals(a, r)
	}
	return w
}

func (w *world) regionIndex(region string) int {
	for i, r := range w.regions {
		if r == region {
			return i
		}
	}
	return -1
}

func (w *world) ctRegionIndex(region string) int {
	for i, r := range w.ctRegions {
		if r == region {
			return i
		}
	}
	return -1
}

// net returns the account's network in a region, or nil for a region
// without activity (us-east-1 when it only carries global events).
func (a *account) net(w *world, region string) *network {
	if i := w.regionIndex(region); i >= 0 {
		return a.nets[i]
	}
	return nil
}

func (w *world) buildResources(a *account, r *rng) {
	p := company + "-" + a.name
	switch a.role {
	case "management":
		a.buckets = []bucket{{p + "-terraform-state", bkState}, {p + "-billing-reports", bkExports}}
		a.lambdas = []string{"cloudtrail-guard", "account-vending"}
	case "security":
		a.buckets = []bucket{{p + "-findings-archive", bkFindings}, {p + "-tooling", bkArtifacts}}
		a.lambdas = []string{"guardduty-to-slack", "securityhub-exporter"}
	case "prod":
		a.buckets = []bucket{{p + "-app-assets", bkAssets}, {p + "-customer-exports", bkExports}, {p + "-data-lake", bkLake}, {p + "-db-backups", bkBackups}}
		a.lambdas = []string{"order-processor", "payment-webhook", "thumbnail-resizer", "nightly-report"}
		a.ecs = []string{"checkout-api", "catalog-api"}
	case "dev":
		a.buckets = []bucket{{p + "-artifacts", bkArtifacts}, {p + "-app-assets", bkAssets}, {p + "-scratch", bkLake}}
		a.lambdas = []string{"order-processor-dev", "feature-flags-sync"}
		a.ecs = []string{"checkout-api-dev"}
	case "data":
		a.buckets = []bucket{{p + "-lake-raw", bkLake}, {p + "-lake-curated", bkLake}, {p + "-exports", bkExports}}
		a.lambdas = []string{"ingest-trigger", "partition-repair"}
	default:
		a.buckets = []bucket{{p + "-artifacts", bkArtifacts}, {p + "-data", bkLake}}
		a.lambdas = []string{a.name + "-etl", a.name + "-cleanup"}
		if a.role == "staging" {
			a.ecs = []string{"checkout-api-staging"}
		}
	}
	a.tables = []string{"orders", "sessions", "idempotency-keys"}
	a.secrets = []string{a.name + "/db/postgres-" + charsStr(r, mixedAlnum, 6), a.name + "/api/stripe-" + charsStr(r, mixedAlnum, 6), a.name + "/app/jwt-signing-" + charsStr(r, mixedAlnum, 6)}
	a.params = []string{"/" + a.name + "/app/config", "/" + a.name + "/db/host", "/" + a.name + "/feature-flags", "/" + a.name + "/app/log-level"}
	a.rds = a.name + "-postgres-1"
}

func (w *world) newUser(a *account, r *rng, name string, kind pkind) *principal {
	p := &principal{
		kind: kind, acct: a, typ: "IAMUser", name: name,
		arn:         "arn:aws:iam::" + a.id + ":user/" + name,
		principalID: "AIDA" + charsStr(r, upperAlnum, 17),
		accessKey:   "AKIA" + charsStr(r, base32Chars, 16),
	}
	a.users = append(a.users, p)
	return p
}

func (w *world) newRole(a *account, r *rng, name, path string, kind pkind) *principal {
	return &principal{
		kind: kind, acct: a, typ: "AssumedRole", name: name, path: path,
		arn:         "arn:aws:iam::" + a.id + ":role" + path + name,
		principalID: "AROA" + charsStr(r, upperAlnum, 17),
	}
}

func (a *account) add(p *principal) { a.princ[p.kind] = append(a.princ[p.kind], p) }

func (w *world) buildPrincipals(a *account, r *rng) {
	ssoPath := "/aws-reserved/sso.amazonaws.com/"
	sets := []string{"AdministratorAccess", "ReadOnlyAccess"}
	switch a.role {
	case "management", "security", "log-archive":
	default:
		sets = append(sets, "PowerUserAccess")
	}
	for _, ps := range sets {
		// The suffix is per permission set and account.
		name := "AWSReservedSSO_" + ps + "_" + hexStr(r, 16)
		role := w.newRole(a, r, name, ssoPath, kSSO)
		a.add(role)
		console := *role
		console.kind = kConsole
		a.add(&console)
		saml := *role
		saml.kind = kSAML
		a.add(&saml)
	}
	cfgRole := w.newRole(a, r, "AWSServiceRoleForConfig", "/aws-service-role/config.amazonaws.com/", kConfig)
	cfgRole.session = "AWSConfig-Describe"
	a.add(cfgRole)
	audit := w.newRole(a, r, "SecurityAuditRole", "/", kAudit)
	audit.session = "prowler-scan"
	a.add(audit)
	a.add(&principal{kind: kService, acct: a, typ: "AWSService"})
	from := w.security
	if from == a {
		from = w.mgmt
	}
	a.add(&principal{kind: kXAcct, acct: a, typ: "AWSAccount", principalID: "AROA" + charsStr(r, upperAlnum, 17) + ":security-automation", issuer: &principal{acct: from}})
	a.add(&principal{kind: kRoot, acct: a, typ: "Root", principalID: a.id, arn: "arn:aws:iam::" + a.id + ":root"})

	for _, fn := range a.lambdas {
		l := w.newRole(a, r, fn+"-role", "/service-role/", kLambda)
		l.session = fn
		a.add(l)
	}
	switch a.role {
	case "management":
		a.add(&principal{kind: kIDC, acct: a, typ: "IdentityCenterUser"})
		for _, h := range w.humans[:2] {
			u := w.newUser(a, r, h.name, kHuman)
			u.human = h
			u.mfaDevice = "arn:aws:iam::" + a.id + ":mfa/" + h.name
			a.add(u)
		}
	case "security":
		a.add(w.newRole(a, r, "scanner-instance-role", "/", kEC2))
	case "log-archive":
	default:
		a.add(w.newRole(a, r, "ec2-app-role", "/", kEC2))
		a.add(w.newRole(a, r, "ssm-managed-instance", "/", kEC2))
		ci := "terraform-ci"
		if a.role == "prod" {
			ci = "ci-deployer"
		}
		a.add(w.newUser(a, r, ci, kCI))
		for _, svc := range a.ecs {
			e := w.newRole(a, r, svc+"-task-role", "/", kECS)
			a.add(e)
		}
		if a.role == "prod" || a.role == "dev" {
			gh := w.newRole(a, r, "github-actions-deploy", "/", kOIDC)
			gh.session = "GitHubActions"
			a.add(gh)
		}
		if a.role == "prod" {
			app := w.newUser(a, r, "legacy-reporting", kApp)
			a.add(app)
			a.add(&principal{kind: kFed, acct: a, typ: "FederatedUser", name: "reporting-batch",
				arn: "arn:aws:sts::" + a.id + ":federated-user/reporting-batch", principalID: a.id + ":reporting-batch", issuer: app})
			a.add(w.newUser(a, r, "backup-operator", kApp))
		}
	}
}

// network is an account's VPC in one region and what is attached to it.
type network struct {
	acct      *account
	region    string
	ri        int
	vpc       string
	o2        int // 10.o2.0.0/16
	azIDs     []string
	subnets   []*subnet
	all       []*eni
	albs      []*eni
	apps      []*eni
	dbs       []*eni
	lambdas   []*eni
	endpoints []*eni
	instances []*eni // ENIs of EC2 instances
	public    []*eni // ENIs reachable from the internet
	nat       *eni
	bastion   *eni
	resolver  *eni
	web       *eni // a legacy web server with a public IP (prod only)
	natEIP    string
	flowLogID string
	vpce      string // S3 gateway endpoint
	sgs       []string
	v6        string // IPv6 /56 prefix, "" when not dual-stack
	used      map[string]bool
}

type subnet struct {
	id     string
	az     int
	o3     int
	public bool
}

type eni struct {
	id         string
	ip         string
	v6         string
	publicIP   string
	instanceID string // "-" for ENIs without an instance of the account
	sub        *subnet
	role       string
	name       string
	open       []int // ports open to the internet
	net        *network
}

// azIDFor returns AWS's AZ id for a region ("use1-az1").
func azIDFor(region string, n int) string {
	parts := strings.Split(region, "-")
	if len(parts) < 3 {
		return region + "-az" + strconv.Itoa(n)
	}
	dir := map[string]string{
		"east": "e", "west": "w", "north": "n", "south": "s", "central": "c",
		"northeast": "ne", "southeast": "se", "northwest": "nw", "southwest": "sw",
	}
	var b strings.Builder
	b.WriteString(parts[0])
	for _, p := range parts[1 : len(parts)-1] {
		if d, ok := dir[p]; ok {
			b.WriteString(d)
		} else if p != "" {
			b.WriteString(p[:1])
		}
	}
	b.WriteString(parts[len(parts)-1])
	b.WriteString("-az")
	b.WriteString(strconv.Itoa(n))
	return b.String()
}

func (w *world) buildNetwork(a *account, region string, ri int, r *rng) *network {
	n := &network{
		acct: a, region: region, ri: ri,
		vpc:       "vpc-" + hexStr(r, 17),
		o2:        (a.idx*len(w.regions) + ri + 16) % 250,
		natEIP:    awsIP(r, region),
		flowLogID: "fl-" + hexStr(r, 17),
		vpce:      "vpce-" + hexStr(r, 17),
		used:      map[string]bool{},
	}
	for i := 0; i < 3; i++ {
		n.sgs = append(n.sgs, "sg-"+hexStr(r, 17))
	}
	if a.role == "prod" || a.role == "dev" || a.role == "staging" {
		n.v6 = v6Prefix(region) + ":" + hexStr(r, 4) + ":" + hexStr(r, 2) + "00"
	}
	azs := []int{1, 2, 4}
	for i, az := range azs {
		n.azIDs = append(n.azIDs, azIDFor(region, az))
		n.subnets = append(n.subnets,
			&subnet{id: "subnet-" + hexStr(r, 17), az: i, o3: i, public: true},
			&subnet{id: "subnet-" + hexStr(r, 17), az: i, o3: 10 + i},
			&subnet{id: "subnet-" + hexStr(r, 17), az: i, o3: 20 + i},
		)
	}
	sub := func(kind, az int) *subnet { return n.subnets[az*3+kind] }
	mk := func(s *subnet, role, name string, instance bool) *eni {
		e := &eni{id: "eni-" + hexStr(r, 17), sub: s, role: role, name: name, instanceID: "-", net: n}
		for {
			e.ip = "10." + strconv.Itoa(n.o2) + "." + strconv.Itoa(s.o3) + "." + strconv.Itoa(r.between(4, 250))
			if !n.used[e.ip] {
				n.used[e.ip] = true
				break
			}
		}
		if instance {
			e.instanceID = "i-" + hexStr(r, 17)
			n.instances = append(n.instances, e)
		}
		n.all = append(n.all, e)
		return e
	}
	n.nat = mk(sub(0, 0), "nat", "nat-gateway", false)
	n.nat.publicIP = n.natEIP
	for az := 0; az < 3; az++ {
		e := mk(sub(0, az), "alb", "alb", false)
		e.publicIP = awsIP(r, region)
		e.open = []int{80, 443}
		if n.v6 != "" {
			e.v6 = n.v6 + "::" + hexStr(r, 4)
		}
		n.albs = append(n.albs, e)
		n.public = append(n.public, e)
	}
	n.bastion = mk(sub(0, 1), "bastion", "bastion", true)
	n.bastion.publicIP = awsIP(r, region)
	n.bastion.open = []int{22}
	n.public = append(n.public, n.bastion)
	if a.role == "prod" {
		n.web = mk(sub(0, 2), "web", "web-legacy-01", true)
		n.web.publicIP = awsIP(r, region)
		n.web.open = []int{22, 80, 443}
		if n.v6 != "" {
			n.web.v6 = n.v6 + "::" + hexStr(r, 4)
		}
		n.public = append(n.public, n.web)
	}
	apps := 3
	switch a.role {
	case "prod", "data":
		apps = 6
	case "dev", "staging", "network", "shared-services":
		apps = 4
	case "management", "log-archive":
		apps = 2
	}
	for i := 0; i < apps; i++ {
		name := "app-" + strconv.Itoa(i+1)
		if a.role == "security" {
			name = "scanner-" + strconv.Itoa(i+1)
		}
		n.apps = append(n.apps, mk(sub(1, i%3), "app", name, true))
	}
	for i := 0; i < 2; i++ {
		n.dbs = append(n.dbs, mk(sub(2, i), "db", "rds", false))
		n.lambdas = append(n.lambdas, mk(sub(1, i), "lambda", "lambda", false))
	}
	n.endpoints = append(n.endpoints, mk(sub(1, 0), "endpoint", "vpce-ssm", false))
	n.resolver = mk(sub(1, 1), "resolver", "resolver-outbound", false)
	return n
}

// AWS public address blocks per region (a few real EC2 blocks each), for
// NAT gateways, elastic IPs, Lambda and CI runners.
var awsBlocks = map[string][][2]int{
	"us-east-1":      {{3, 80}, {3, 84}, {44, 192}, {54, 144}, {52, 70}, {34, 224}},
	"us-east-2":      {{3, 128}, {18, 188}, {52, 14}},
	"us-west-2":      {{34, 208}, {44, 224}, {52, 32}, {54, 184}},
	"eu-west-1":      {{34, 240}, {52, 208}, {54, 72}, {63, 32}},
	"eu-central-1":   {{3, 120}, {18, 156}, {52, 57}},
	"ap-southeast-2": {{3, 24}, {13, 236}, {54, 252}, {52, 62}},
	"ap-northeast-1": {{13, 112}, {18, 176}, {54, 64}},
}

// awsIP returns an address in one of the region's AWS blocks.
func awsIP(r *rng, region string) string {
	blocks, ok := awsBlocks[region]
	if !ok {
		blocks = [][2]int{{3, 64 + int(strHash(region)%32)}, {52, 16 + int(strHash(region)%64)}}
	}
	b := pick(r, blocks)
	return strconv.Itoa(b[0]) + "." + strconv.Itoa(b[1]+r.IntN(4)) + "." + strconv.Itoa(r.IntN(256)) + "." + strconv.Itoa(r.between(1, 254))
}

// v6Prefix returns the AWS IPv6 /32 of a region.
func v6Prefix(region string) string {
	switch region {
	case "us-east-1":
		return "2600:1f18"
	case "us-east-2":
		return "2600:1f16"
	case "us-west-2":
		return "2600:1f14"
	case "eu-west-1":
		return "2a05:d018"
	case "eu-central-1":
		return "2a05:d014"
	case "ap-southeast-2":
		return "2406:da1c"
	case "ap-northeast-1":
		return "2406:da14"
	}
	return "2600:1f1" + string(hexDigits[strHash(region)%16])
}

// internetIPv6 returns a public IPv6 address of a residential or mobile
// network.
func internetIPv6(r *rng) string {
	prefixes := [...]string{"2a01:4b00", "2a02:c7c", "2a00:23c5", "2600:1700", "2601:647", "2a01:e0a", "2001:8a0", "2404:6800"}
	return prefixes[r.IntN(len(prefixes))] + ":" + hexStr(r, 4) + ":" + hexStr(r, 4) + "::" + hexStr(r, 3)
}
