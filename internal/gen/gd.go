package gen

import (
	"context"
	"slices"
	"strconv"
	"strings"
)

// GuardDuty findings exported to S3. The security account is the delegated
// administrator: its export destination gets the findings of every member
// account, so all files are under AWSLogs/<security>/GuardDuty/<region>/,
// while each finding carries the member's accountId. The finding publishing
// frequency is FIFTEEN_MINUTES: new findings are exported a few minutes
// after they are created, updates (new occurrences: a higher count, a later
// eventLastSeen and updatedAt) at the next quarter hour.

// Finding kinds (resource and action shapes).
const (
	fkProbe    = iota // Instance, PORT_PROBE
	fkInbound         // Instance, NETWORK_CONNECTION inbound
	fkOutbound        // Instance, NETWORK_CONNECTION outbound
	fkDNS             // Instance, DNS_REQUEST
	fkAPI             // AccessKey, AWS_API_CALL
	fkS3API           // S3Bucket, AWS_API_CALL
)

// finding is one GuardDuty finding and the versions it goes through.
type finding struct {
	id          string
	typ         string
	kind        int
	acct        *account
	region      string
	severity    float64
	role        string // resourceRole
	firstSeen   int64  // seconds
	created     int64  // milliseconds
	versions    []fversion
	inst        *eni
	actor       *remoteActor
	remoteIP    string
	ports       []int // probed local ports
	localPort   int
	remotePort  int
	domain      string
	apiName     string
	apiService  string
	userName    string
	userType    string
	principalID string
	accessKey   string
	userAgent   string
	errorCode   string
	bucket      string
	affType     string // affectedResources key
	affName     string
	threatList  string
	threatName  string
	title       string
	description string
	order       int
}

type fversion struct {
	updated  int64 // milliseconds
	lastSeen int64 // seconds
	count    int
}

// remoteActor is a remote network's identity as GuardDuty reports it. The
// geo and ASN values are illustrative; a geo enricher may disagree.
type remoteActor struct {
	prefix                string
	asn, asnOrg, isp, org string
	cc, country, city     string
	lat, lon              float64
}

var (
	actorTor      = &remoteActor{"185.220.101.", "60729", "Stiftung Erneuerbare Freiheit", "Stiftung Erneuerbare Freiheit", "Stiftung Erneuerbare Freiheit", "DE", "Germany", "Berlin", 52.5196, 13.4069}
	actorScanner  = &remoteActor{"45.155.205.", "209588", "Flyservers S.A.", "Flyservers S.A.", "Flyservers S.A.", "NL", "Netherlands", "Amsterdam", 52.3759, 4.8975}
	actorCorp     = &remoteActor{"81.2.69.", "20712", "Andrews & Arnold Ltd", "Andrews & Arnold Ltd", "Andrews & Arnold Ltd", "GB", "United Kingdom", "London", 51.5142, -0.0931}
	backgroundBad = []*remoteActor{
		{"167.94.138.", "398324", "CENSYS-ARIN-01", "Censys, Inc.", "Censys, Inc.", "US", "United States", "Ann Arbor", 42.2776, -83.7409},
		{"71.6.199.", "10439", "CARINET", "CariNet, Inc.", "Shodan", "US", "United States", "San Diego", 32.7157, -117.1611},
		{"193.163.125.", "211298", "Constantine Cybersecurity Ltd.", "Internet Measurement", "Driftnet", "GB", "United Kingdom", "London", 51.5072, -0.1276},
		{"218.92.0.", "4134", "CHINANET-BACKBONE", "China Telecom", "China Telecom", "CN", "China", "Nanjing", 32.0603, 118.7969},
		{"80.94.95.", "204428", "SS-Net", "SS-Net", "SS-Net", "RO", "Romania", "Bucharest", 44.4268, 26.1025},
		{"45.148.10.", "48090", "TECHOFF SRV LIMITED", "Techoff Srv Limited", "Techoff Srv Limited", "NL", "Netherlands", "Amsterdam", 52.3676, 4.9041},
	}
)

var portNames = map[int]string{22: "SSH", 80: "HTTP", 443: "HTTPS", 3389: "RDP", 3306: "MYSQL", 5432: "POSTGRESQL", 6379: "REDIS", 8080: "HTTP", 6667: "IRC", 53: "DNS", 23: "TELNET", 445: "SMB"}

func portName(p int) string {
	if n, ok := portNames[p]; ok {
		return n
	}
	return "Unknown"
}

type gdGen struct {
	w        *world
	st       *story
	out      *writer
	r        *rng
	j        jw
	versions int
	ids      int
}

func newGDGen(w *world, st *story, dir string) (*gdGen, error) {
	out, err := newWriter(dir, w.cfg.Gzip)
	if err != nil {
		return nil, err
	}
	return &gdGen{w: w, st: st, out: out, r: newRng(w.seed, streamGD)}, nil
}

// background finding types and their weights.
var gdTypes = []struct {
	typ  string
	kind int
	sev  float64
	wt   float64
}{
	{"Recon:EC2/PortProbeUnprotectedPort", fkProbe, 2, 4},
	{"UnauthorizedAccess:EC2/SSHBruteForce", fkInbound, 2, 2},
	{"Behavior:EC2/NetworkPortUnusual", fkOutbound, 5, 0.7},
	{"CryptoCurrency:EC2/BitcoinTool.B!DNS", fkDNS, 8, 0.5},
	{"Discovery:IAMUser/AnomalousBehavior", fkAPI, 2, 1},
	{"Policy:IAMUser/RootCredentialUsage", fkAPI, 2, 0.4},
	{"Stealth:S3/ServerAccessLoggingDisabled", fkS3API, 2, 0.4},
}

// background plans the background findings: about budget versions.
func (g *gdGen) background() []*finding {
	w, r := g.w, g.r
	budget := g.w.cfg.Findings
	var list []*finding
	var tw []float64
	for _, t := range gdTypes {
		tw = append(tw, t.wt)
	}
	types := newWTable(tw)
	var aw []float64
	for _, a := range w.accounts {
		aw = append(aw, a.gdWeight)
	}
	accts := newWTable(aw)
	regs := newWTable(regionWeights(len(w.regions)))
	span := w.end - w.start
	planned := 0
	for planned < budget {
		t := gdTypes[types.pick(r)]
		a := w.accounts[accts.pick(r)]
		if t.typ == "Policy:IAMUser/RootCredentialUsage" {
			a = w.mgmt
		}
		region := w.regions[regs.pick(r)]
		f := &finding{id: hexStr(r, 32), typ: t.typ, kind: t.kind, acct: a, region: region, severity: t.sev, role: "TARGET", order: len(list)}
		first := w.start + r.Int64N(max(span-600, 1))
		f.firstSeen = first
		f.created = (first+r.Int64N(300)+60)*1000 + r.Int64N(1000)
		n := a.nets[w.regionIndex(region)]
		switch t.kind {
		case fkProbe:
			f.inst = n.bastion
			if n.web != nil && r.Float64() < 0.5 {
				f.inst = n.web
			}
			f.ports = f.inst.open[:1+r.IntN(len(f.inst.open))]
			f.actor = pick(r, backgroundBad)
		case fkInbound:
			f.inst = n.bastion
			f.localPort, f.remotePort = 22, r.between(32768, 60999)
			f.actor = backgroundBad[3]
		case fkOutbound:
			f.inst = pick(r, n.apps)
			f.localPort, f.remotePort = r.between(32768, 60999), pick(r, []int{6667, 8088, 1337, 4444})
			f.actor = pick(r, backgroundBad[3:])
			f.role = "ACTOR"
		case fkDNS:
			f.inst = pick(r, n.apps)
			f.domain = pick(r, []string{"pool.supportxmr.com", "xmr-eu1.nanopool.org", "gulf.moneroocean.stream"})
			f.role = "ACTOR"
			f.threatList, f.threatName = "ProofPoint", "CryptoCurrency"
		case fkAPI:
			if strings.HasPrefix(t.typ, "Policy") {
				f.userName, f.userType, f.principalID, f.accessKey = "Root", "Root", a.id, ""
				f.apiName, f.apiService = pick(r, []string{"GetAccountSummary", "ListAccounts", "GetBillingPreferences"}), "iam.amazonaws.com"
				f.remoteIP, f.actor = pick(r, corpIPs), actorCorp
				f.userAgent = uaBrowsers[0]
			} else {
				users := append(append([]*principal(nil), a.princ[kCI]...), a.princ[kApp]...)
				if len(users) == 0 {
					users = a.princ[kHuman]
				}
				if len(users) == 0 {
					continue
				}
				u := pick(r, users)
				f.userName, f.userType, f.principalID, f.accessKey = u.name, "IAMUser", u.principalID, u.accessKey
				f.apiName, f.apiService = pick(r, []string{"ListRoles", "GetAccountAuthorizationDetails", "ListPolicies", "DescribeInstances"}), "iam.amazonaws.com"
				f.remoteIP, f.actor = pick(r, w.ciIPs), &remoteActor{"", "14618", "AMAZON-AES", "Amazon.com", "Amazon.com", "US", "United States", "Ashburn", 39.0438, -77.4874}
				f.userAgent = uaTerraform
			}
		case fkS3API:
			p := pick(r, a.princ[kSSO])
			f.userName, f.userType, f.principalID, f.accessKey = p.name+"/"+pick(r, w.humans).email, "AssumedRole", p.principalID+":"+pick(r, w.humans).email, "ASIA"+charsStr(r, base32Chars, 16)
			f.apiName, f.apiService = "PutBucketLogging", "s3.amazonaws.com"
			f.bucket = pick(r, a.buckets).base + "-" + region
			f.affType, f.affName = "AWS::S3::Bucket", f.bucket
			f.remoteIP, f.actor = pick(r, corpIPs), actorCorp
			f.userAgent = uaS3Console
		}
		if f.actor != nil && f.remoteIP == "" {
			f.remoteIP = f.actor.prefix + strconv.Itoa(r.between(2, 250))
		}
		g.versionsFor(f, r.IntN(6), first)
		planned += len(f.versions)
		list = append(list, f)
	}
	for _, f := range list {
		f.title, f.description = findingText(f)
	}
	return list
}

// versionsFor plans a finding's first version and up to n updates.
func (g *gdGen) versionsFor(f *finding, n int, first int64) {
	r := g.r
	count := 1 + r.IntN(4)
	last := max(first, f.created/1000-r.Int64N(60))
	f.versions = append(f.versions, fversion{updated: f.created, lastSeen: last, count: count})
	t := f.created / 1000
	for i := 0; i < n; i++ {
		t += r.logUniform(900, 8*3600)
		if t >= g.w.end {
			break
		}
		count += r.between(1, 40)
		f.versions = append(f.versions, fversion{updated: t*1000 + r.Int64N(1000), lastSeen: t - r.Int64N(120), count: count})
	}
}

// export is one finding version placed in an export file.
type export struct {
	at int64 // export time
	ri int
	f  *finding
	v  int
}

func (g *gdGen) run(ctx context.Context) error {
	defer g.out.abort()
	w := g.w
	var list []*finding
	if w.cfg.Findings > 0 {
		list = g.background()
	}
	if g.st != nil {
		for _, f := range g.st.findings {
			f.order = len(list)
			list = append(list, f)
		}
	}
	var exps []export
	for _, f := range list {
		ri := w.regionIndex(f.region)
		if ri < 0 {
			ri = 0
		}
		for vi, v := range f.versions {
			var at int64
			if vi == 0 {
				at = v.updated/1000 + 60 + int64(hashOf(strHash(f.id))%240)
			} else {
				at = (v.updated/1000/900 + 1) * 900
			}
			if at >= w.end {
				break
			}
			exps = append(exps, export{at: at, ri: ri, f: f, v: vi})
		}
	}
	slices.SortFunc(exps, func(x, y export) int {
		if c := cmpInt(x.at, y.at); c != 0 {
			return c
		}
		if x.ri != y.ri {
			return x.ri - y.ri
		}
		if x.f.order != y.f.order {
			return x.f.order - y.f.order
		}
		return x.v - y.v
	})
	seen := map[string]bool{}
	rr := newRng(w.seed, streamGDRender)
	for i := 0; i < len(exps); {
		if err := ctx.Err(); err != nil {
			return err
		}
		j := i
		for j < len(exps) && exps[j].at == exps[i].at && exps[j].ri == exps[i].ri {
			j++
		}
		region := w.regions[exps[i].ri]
		at := exps[i].at
		key := "AWSLogs/" + w.security.id + "/GuardDuty/" + region + "/" + string(appendDate(nil, at, '/')) + "/" + uuidStr(rr) + ".jsonl.gz"
		if err := g.out.create(key, false); err != nil {
			return err
		}
		for _, x := range exps[i:j] {
			g.j.reset()
			g.render(x.f, x.v, rr)
			g.j.b = append(g.j.b, '\n')
			if err := g.out.write(g.j.b); err != nil {
				return err
			}
			g.versions++
			if !seen[x.f.id] {
				seen[x.f.id] = true
				g.ids++
			}
		}
		if _, _, err := g.out.close(); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// render writes one finding version as one line.
func (g *gdGen) render(f *finding, vi int, r *rng) {
	w := &g.j
	v := f.versions[vi]
	ri := max(g.w.regionIndex(f.region), 0)
	det := f.acct.detectors[ri]
	w.Obj()
	w.KS("schemaVersion", "2.0")
	w.KS("accountId", f.acct.id)
	w.KS("region", f.region)
	w.KS("partition", "aws")
	w.KS("id", f.id)
	w.KS("arn", "arn:aws:guardduty:"+f.region+":"+f.acct.id+":detector/"+det+"/finding/"+f.id)
	w.KS("type", f.typ)
	g.resource(f)
	w.KObj("service")
	w.KS("serviceName", "guardduty")
	w.KS("detectorId", det)
	g.action(f, v)
	w.KS("resourceRole", f.role)
	w.KObj("additionalInfo")
	info := "{}"
	switch {
	case f.threatList != "":
		info = `{"threatListName":"` + f.threatList + `"}`
	case f.kind == fkAPI || f.kind == fkS3API:
		info = `{"unusual":{"hoursOfDay":[` + strconv.FormatInt(v.lastSeen%86400/3600, 10) + `],"userNames":["` + f.userName + `"]},"apiCalls":[{"name":"` + f.apiName + `","count":` + strconv.Itoa(v.count) + `,"firstSeen":` + strconv.FormatInt(f.firstSeen, 10) + `,"lastSeen":` + strconv.FormatInt(v.lastSeen, 10) + `}]}`
	}
	w.KS("value", info)
	w.KS("type", "default")
	w.EndObj()
	if f.threatList != "" {
		w.KObj("evidence")
		w.KArr("threatIntelligenceDetails")
		w.Obj()
		w.KS("threatListName", f.threatList)
		w.KArr("threatNames")
		w.S(f.threatName)
		w.EndArr()
		w.EndObj()
		w.EndArr()
		w.EndObj()
	}
	w.KTMs("eventFirstSeen", f.firstSeen*1000)
	w.KTMs("eventLastSeen", v.lastSeen*1000)
	w.KB("archived", false)
	w.KI("count", int64(v.count))
	w.EndObj()
	w.KF("severity", f.severity)
	w.KTMs("createdAt", f.created)
	w.KTMs("updatedAt", v.updated)
	w.KS("title", f.title)
	w.KS("description", f.description)
	w.EndObj()
}

func (g *gdGen) resource(f *finding) {
	w := &g.j
	w.KObj("resource")
	switch f.kind {
	case fkProbe, fkInbound, fkOutbound, fkDNS:
		e := f.inst
		h := hashOf(g.w.seed, strHash(e.id))
		w.KS("resourceType", "Instance")
		w.KObj("instanceDetails")
		w.KS("availabilityZone", e.net.region+string(rune('a'+e.sub.az)))
		w.KObj("iamInstanceProfile")
		w.KS("arn", "arn:aws:iam::"+f.acct.id+":instance-profile/ec2-app-role")
		w.KS("id", string(appendKeyChars([]byte("AIPA"), h, 17)))
		w.EndObj()
		w.KS("imageDescription", "Amazon Linux 2023 AMI 2023.8.20250915.0 x86_64 HVM kernel-6.1")
		w.KS("imageId", "ami-"+hexOf(h, 17))
		w.KS("instanceId", e.instanceID)
		w.KS("instanceState", "running")
		w.KS("instanceType", instanceTypes[h%uint64(len(instanceTypes))])
		w.KTMs("launchTime", (g.w.start-int64(h%(40*86400))-86400)*1000)
		w.KArr("networkInterfaces")
		w.Obj()
		w.KRaw("ipv6Addresses", "[]")
		w.KS("networkInterfaceId", e.id)
		dns := "ip-" + dashed(e.ip) + "." + e.net.region + ".compute.internal"
		w.KS("privateDnsName", dns)
		w.KS("privateIpAddress", e.ip)
		w.KArr("privateIpAddresses")
		w.Obj()
		w.KS("privateDnsName", dns)
		w.KS("privateIpAddress", e.ip)
		w.EndObj()
		w.EndArr()
		if e.publicIP != "" {
			w.KS("publicDnsName", "ec2-"+dashed(e.publicIP)+"."+computeDomain(e.net.region))
			w.KS("publicIp", e.publicIP)
		}
		w.KArr("securityGroups")
		w.Obj()
		w.KS("groupId", e.net.sgs[0])
		w.KS("groupName", f.acct.name+"-"+e.role)
		w.EndObj()
		w.EndArr()
		w.KS("subnetId", e.sub.id)
		w.KS("vpcId", e.net.vpc)
		w.EndObj()
		w.EndArr()
		w.KNull("platform")
		w.KRaw("productCodes", "[]")
		w.KTags("tags", [][2]string{{"Name", e.name}, {"Environment", f.acct.name}})
		w.EndObj()
	case fkAPI, fkS3API:
		if f.kind == fkS3API {
			w.KS("resourceType", "S3Bucket")
		} else {
			w.KS("resourceType", "AccessKey")
		}
		w.KObj("accessKeyDetails")
		w.KS("accessKeyId", f.accessKey)
		w.KS("principalId", f.principalID)
		w.KS("userName", f.userName)
		w.KS("userType", f.userType)
		w.EndObj()
		if f.kind == fkS3API {
			w.KArr("s3BucketDetails")
			w.Obj()
			w.KS("arn", "arn:aws:s3:::"+f.bucket)
			w.KS("name", f.bucket)
			w.KS("type", "Destination")
			w.KF("createdAt", float64(g.w.start-200*86400)+0.451)
			w.KObj("owner")
			w.KS("id", hexOf(hashOf(strHash(f.acct.id)), 64))
			w.EndObj()
			w.KRaw("tags", "[]")
			w.KRaw("defaultServerSideEncryption", `{"encryptionType":"AES256"}`)
			w.KRaw("publicAccess", `{"permissionConfiguration":{"bucketLevelPermissions":{"accessControlList":{"allowsPublicReadAccess":false,"allowsPublicWriteAccess":false},"bucketPolicy":{"allowsPublicReadAccess":false,"allowsPublicWriteAccess":false},"blockPublicAccess":{"ignorePublicAcls":true,"restrictPublicBuckets":true,"blockPublicAcls":true,"blockPublicPolicy":true}},"accountLevelPermissions":{"blockPublicAccess":{"ignorePublicAcls":true,"restrictPublicBuckets":true,"blockPublicAcls":true,"blockPublicPolicy":true}}},"effectivePermission":"NOT_PUBLIC"}`)
			w.EndObj()
			w.EndArr()
		}
	}
	w.EndObj()
}

func computeDomain(region string) string {
	if region == "us-east-1" {
		return "compute-1.amazonaws.com"
	}
	return region + ".compute.amazonaws.com"
}

func (g *gdGen) remoteIP(a *remoteActor, ip string) {
	w := &g.j
	w.KObj("remoteIpDetails")
	w.KObj("city")
	w.KS("cityName", a.city)
	w.EndObj()
	w.KObj("country")
	w.KS("countryCode", a.cc)
	w.KS("countryName", a.country)
	w.EndObj()
	w.KObj("geoLocation")
	w.KF("lat", a.lat)
	w.KF("lon", a.lon)
	w.EndObj()
	w.KS("ipAddressV4", ip)
	w.KObj("organization")
	w.KS("asn", a.asn)
	w.KS("asnOrg", a.asnOrg)
	w.KS("isp", a.isp)
	w.KS("org", a.org)
	w.EndObj()
	w.EndObj()
}

func (g *gdGen) action(f *finding, v fversion) {
	w := &g.j
	w.KObj("action")
	switch f.kind {
	case fkProbe:
		w.KS("actionType", "PORT_PROBE")
		w.KObj("portProbeAction")
		w.KB("blocked", false)
		w.KArr("portProbeDetails")
		for _, p := range f.ports {
			w.Obj()
			w.KObj("localPortDetails")
			w.KI("port", int64(p))
			w.KS("portName", portName(p))
			w.EndObj()
			w.KObj("localIpDetails")
			w.KS("ipAddressV4", f.inst.ip)
			w.EndObj()
			g.remoteIP(f.actor, f.remoteIP)
			w.EndObj()
		}
		w.EndArr()
		w.EndObj()
	case fkInbound, fkOutbound:
		w.KS("actionType", "NETWORK_CONNECTION")
		w.KObj("networkConnectionAction")
		if f.kind == fkInbound {
			w.KS("connectionDirection", "INBOUND")
		} else {
			w.KS("connectionDirection", "OUTBOUND")
		}
		g.remoteIP(f.actor, f.remoteIP)
		w.KObj("remotePortDetails")
		w.KI("port", int64(f.remotePort))
		w.KS("portName", portName(f.remotePort))
		w.EndObj()
		w.KObj("localPortDetails")
		w.KI("port", int64(f.localPort))
		w.KS("portName", portName(f.localPort))
		w.EndObj()
		w.KS("protocol", "TCP")
		w.KB("blocked", false)
		w.KObj("localIpDetails")
		w.KS("ipAddressV4", f.inst.ip)
		w.EndObj()
		w.EndObj()
	case fkDNS:
		w.KS("actionType", "DNS_REQUEST")
		w.KObj("dnsRequestAction")
		w.KS("domain", f.domain)
		w.KS("protocol", "UDP")
		w.KB("blocked", false)
		w.KS("domainWithSuffix", f.domain[strings.IndexByte(f.domain, '.')+1:])
		w.EndObj()
	case fkAPI, fkS3API:
		w.KS("actionType", "AWS_API_CALL")
		w.KObj("awsApiCallAction")
		w.KS("api", f.apiName)
		w.KS("serviceName", f.apiService)
		w.KS("callerType", "Remote IP")
		if f.errorCode != "" {
			w.KS("errorCode", f.errorCode)
		}
		w.KS("userAgent", f.userAgent)
		g.remoteIP(f.actor, f.remoteIP)
		w.KObj("affectedResources")
		if f.affType != "" {
			w.KS(f.affType, f.affName)
		}
		w.EndObj()
		w.EndObj()
	}
	w.EndObj()
}

// findingText returns a finding's title and description in GuardDuty's
// wording.
func findingText(f *finding) (string, string) {
	inst := ""
	if f.inst != nil {
		inst = f.inst.instanceID
	}
	switch f.typ {
	case "Recon:EC2/PortProbeUnprotectedPort":
		return "Unprotected port on EC2 instance " + inst + " is being probed.",
			"EC2 instance has an unprotected port which is being probed by a known malicious host."
	case "UnauthorizedAccess:EC2/SSHBruteForce":
		return f.remoteIP + " is performing SSH brute force attacks against " + inst + ".",
			f.remoteIP + " is performing SSH brute force attacks against " + inst + ". Brute force attacks are used to gain unauthorized access to your instance by guessing the SSH password."
	case "Behavior:EC2/NetworkPortUnusual":
		p := strconv.Itoa(f.remotePort)
		return "Unusual outbound communication seen from EC2 instance " + inst + " on server port " + p + ".",
			"EC2 instance " + inst + " is communicating with a remote host " + f.remoteIP + " on an unusual server port " + p + "."
	case "CryptoCurrency:EC2/BitcoinTool.B!DNS":
		return "Bitcoin-related domain name queried by EC2 instance " + inst + ".",
			"EC2 instance " + inst + " is querying a domain name " + f.domain + " that is associated with Bitcoin-related activity."
	case "Discovery:IAMUser/AnomalousBehavior":
		return "The API " + f.apiName + " was invoked by IAM principal " + f.userName + " in an unusual way.",
			"APIs commonly used to discover the users, groups, policies and permissions in an account, were invoked by IAM principal " + f.userName + " under unusual circumstances. Such activity is not typically seen from this principal."
	case "Policy:IAMUser/RootCredentialUsage":
		return "API " + f.apiName + " was invoked using root credentials.",
			"API " + f.apiName + " was invoked using root credentials from IP address " + f.remoteIP + "."
	case "Stealth:S3/ServerAccessLoggingDisabled":
		return "S3 server access logging was disabled for bucket " + f.bucket + ".",
			"S3 server access logging was disabled for bucket " + f.bucket + " by " + f.userName + ". This can be an attempt to avoid detection."
	case "Recon:IAMUser/TorIPCaller":
		return "API " + f.apiName + " was invoked from a Tor exit node.",
			"API " + f.apiName + " was invoked from Tor exit node IP address " + f.remoteIP + "."
	case "PrivilegeEscalation:IAMUser/AnomalousBehavior":
		return "The API " + f.apiName + " was invoked by IAM principal " + f.userName + " in an unusual way.",
			"APIs commonly used to obtain higher-level permissions to an environment were invoked by IAM principal " + f.userName + " under unusual circumstances. Such activity is not typically seen from this principal."
	case "Persistence:IAMUser/AnomalousBehavior":
		return "The API " + f.apiName + " was invoked by IAM principal " + f.userName + " in an unusual way.",
			"APIs commonly used to maintain unauthorized access to an environment were invoked by IAM principal " + f.userName + " under unusual circumstances. Such activity is not typically seen from this principal."
	case "UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B":
		return "Unusual console login was seen for principal " + f.userName + ".",
			"A console login was invoked from an unusual location by principal " + f.userName + " from IP address " + f.remoteIP + ". Such activity is not typically seen from this principal."
	case "Stealth:IAMUser/CloudTrailLoggingDisabled":
		return "AWS CloudTrail trail " + f.affName + " was disabled.",
			"AWS CloudTrail trail " + f.affName + " was disabled by " + f.userName + " calling " + f.apiName + " under unusual circumstances. This can be attackers attempt to cover their tracks by eliminating any trace of activity performed while they accessed your account."
	}
	return f.typ, f.typ
}

// hexOf returns n hex digits derived from h.
func hexOf(h uint64, n int) string {
	b := make([]byte, n)
	for i := range b {
		if i%16 == 0 && i > 0 {
			h = mix64(h)
		}
		b[i] = hexDigits[h&15]
		h >>= 4
	}
	return string(b)
}
