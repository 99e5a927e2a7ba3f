package gen

import (
	"strconv"
	"time"
)

// story holds the scripted CloudTrail events (people signing in, a few
// benign IAM changes) and, when Config.Attack is set, the attack:
//
//  1. a port scan of a public instance in the victim account (flow logs);
//  2. an hour later, from a Tor exit address, the access key of the CI user
//     is used for reconnaissance (GetCallerIdentity, ListUsers,
//     ListAttachedUserPolicies);
//  3. a backdoor user is created, gets AdministratorAccess, an access key
//     and a console password;
//  4. the backdoor user signs in to the console without MFA;
//  5. it stops the organization trail and tries to delete the VPC flow
//     logs, which a service control policy denies;
//  6. it lists buckets and downloads customer exports with its new key;
//  7. GuardDuty raises findings for the scan and the IAM activity.
//
// A member account cannot really stop an organization trail (only the
// management account can); the story keeps the call because detections look
// for it, and it does not model the delivery gap a stopped trail would
// cause: a remediation function in the management account restarts logging
// a minute and a half later (StartLogging).
type story struct {
	w      *world
	r      *rng
	events []*evt

	attack      bool
	acct        *account
	region      string
	n           *network
	t0          int64
	attackerIP  string
	scannerIP   string
	compromised *principal
	created     *principal
	newKey      string
	target      *eni
	scanStart   int64
	scanEnd     int64
	ports       []int
	loginAt     int64
	stopAt      int64
	eventIDs    map[string]string
	findings    []*finding
}

const (
	createdUserName = "svc-backup-sync"
	adminPolicy     = "arn:aws:iam::aws:policy/AdministratorAccess"
)

// uaAttackerCLI is the AWS CLI the attacker uses (a plain Linux install).
const uaAttackerCLI = "aws-cli/2.27.49 md/awscrt#0.26.1 ua/2.1 os/linux#6.12.38+deb13-amd64 md/arch#x86_64 lang/python#3.13.4 md/pyimpl#CPython m/E,b cfg/retry-mode#standard md/installer#exe md/prompt#off"

// uaAttackerBrowser is the attacker's browser.
const uaAttackerBrowser = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"

func newStory(w *world) *story {
	s := &story{w: w, r: newRng(w.seed, streamStory), attack: w.cfg.Attack, eventIDs: map[string]string{}}
	s.scripted()
	if s.attack {
		s.buildAttack()
	}
	return s
}

// at returns the time sod seconds into day d of the data (days counted
// from the UTC midnight before Start), and whether it is inside the data.
func (s *story) at(d int, sod int64) (int64, bool) {
	t := s.w.start - s.w.start%86400 + int64(d)*86400 + sod
	return t, t >= s.w.start && t < s.w.end-600
}

func hms(h, m, sec int) int64 { return int64(h*3600 + m*60 + sec) }

// add appends a fully specified event.
func (s *story) add(t int64, a *account, region string, ap *api, p *principal, ip, ua string) *evt {
	e := &evt{t: t, api: ap, acct: a, region: region, p: p, ip: ip, ua: ua, filled: true, eventID: uuidStr(s.r)}
	s.events = append(s.events, e)
	return e
}

func loginExtra(mfa string, device string, saml string) func(c *ctx) {
	return func(c *ctx) {
		w := c.w
		w.Obj()
		w.K("LoginTo")
		w.Open()
		w.b = append(w.b, "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_"...)
		w.b = append(w.b, c.e.region...)
		w.b = append(w.b, '_')
		w.b = appendHex(w.b, c.r, 16)
		w.Close()
		w.KS("MobileVersion", "No")
		if device != "" {
			w.KS("MFAIdentifier", device)
		}
		w.KS("MFAUsed", mfa)
		if saml != "" {
			w.KS("SamlProviderArn", saml)
		}
		w.EndObj()
	}
}

func loginResult(ok bool) func(c *ctx) {
	if ok {
		return rawParams(`{"ConsoleLogin":"Success"}`)
	}
	return rawParams(`{"ConsoleLogin":"Failure"}`)
}

// scripted adds the events of ordinary days: console sign-ins with MFA from
// the office, federated sign-ins through Identity Center, one failed
// password, a root sign-in, and benign IAM user creations.
func (s *story) scripted() {
	w, r := s.w, s.r
	login := apiByName("signin", "ConsoleLogin")
	days := int((w.end-w.start)/86400) + 2
	for d := 0; d < days; d++ {
		t0, _ := s.at(d, 0)
		if wd := (t0/86400 + 4) % 7; wd == 0 || wd == 6 {
			continue
		}
		for _, p := range w.mgmt.princ[kHuman] {
			t, ok := s.at(d, hms(7, 30, 0)+r.Int64N(2*3600))
			if !ok {
				continue
			}
			e := s.add(t, w.mgmt, "us-east-1", login, p, pick(r, corpIPs), pick(r, uaBrowsers))
			e.extra = loginExtra("Yes", p.mfaDevice, "")
			e.resp = loginResult(true)
			if d == 0 && p.human.name == "tom.becker" {
				// A mistyped password first.
				f := s.add(t-95, w.mgmt, "us-east-1", login, p, e.ip, e.ua)
				f.extra = loginExtra("No", "", "")
				f.resp = loginResult(false)
				f.errMsg = "Failed authentication"
			}
		}
		for _, a := range w.accounts {
			if len(a.princ[kConsole]) == 0 {
				continue
			}
			for i := 0; i < 2; i++ {
				t, ok := s.at(d, hms(7, 0, 0)+r.Int64N(10*3600))
				if !ok {
					continue
				}
				p := pick(r, a.princ[kConsole])
				h := pick(r, w.humans)
				e := s.add(t, a, "us-east-1", login, p, pick(r, corpIPs), pick(r, uaBrowsers))
				e.session, e.created = h.email, t
				e.extra = loginExtra("No", "", "arn:aws:iam::"+a.id+":saml-provider/AWSSSO_"+w.ssoSuffix["AdministratorAccess"]+"_DO_NOT_DELETE")
				e.resp = loginResult(true)
			}
		}
	}
	// The root user signs in once (billing), with MFA, and looks around.
	if t, ok := s.at(0, hms(10, 4, 31)); ok || w.end-w.start < 86400 {
		if !ok {
			t = w.start + (w.end-w.start)/5
		}
		root := w.mgmt.princ[kRoot][0]
		e := s.add(t, w.mgmt, "us-east-1", login, root, corpIPs[0], uaBrowsers[0])
		e.extra = loginExtra("Yes", "arn:aws:iam::"+w.mgmt.id+":mfa/root-account-mfa-device", "")
		e.resp = loginResult(true)
		f := s.add(t+47, w.mgmt, "us-east-1", apiByName("iam", "GetAccountSummary"), root, corpIPs[0], "AWS Internal")
		f.console, f.mfa, f.created = true, true, t
	}
	// Benign IAM changes: a read-only service user in dev created in the
	// console, and a replication user in prod created by Terraform.
	dev := w.accounts[len(w.accounts)-1]
	if len(w.accounts) > 3 {
		dev = w.accounts[3]
	}
	if t, ok := s.at(1, hms(10, 41, 12)); ok && len(dev.princ[kConsole]) > 0 {
		p := dev.princ[kConsole][0]
		h := w.humans[0]
		ip := corpIPs[1]
		s.iamUser(t, dev, p, h.email, ip, "AWS Internal", true, "svc-grafana-reader", "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess")
	}
	if t, ok := s.at(2, hms(14, 22, 5)); ok && len(w.victim.princ[kCI]) > 0 {
		p := w.victim.princ[kCI][0]
		ua := uaTerraform + " api/iam#1.47.3"
		s.iamUser(t, w.victim, p, "", pick(r, w.ciIPs), ua, false, "svc-s3-replication", "arn:aws:iam::"+w.victim.id+":policy/s3-replication-writer")
	}
}

// iamUser adds CreateUser, AttachUserPolicy and CreateAccessKey.
func (s *story) iamUser(t int64, a *account, p *principal, session, ip, ua string, console bool, user, policy string) []*evt {
	r := s.r
	var out []*evt
	for i, name := range []string{"CreateUser", "AttachUserPolicy", "CreateAccessKey"} {
		e := s.add(t+int64(i)*r.Int64N(40)+int64(i*7), a, "us-east-1", apiByName("iam", name), p, ip, ua)
		e.session, e.console, e.mfa = session, console, console
		e.user, e.policy = user, policy
		e.newID = "AIDA" + charsStr(r, upperAlnum, 17)
		e.newKey = "AKIA" + charsStr(r, base32Chars, 16)
		out = append(out, e)
	}
	return out
}

func (s *story) buildAttack() {
	w, r := s.w, s.r
	s.acct = w.victim
	s.region = w.regions[0]
	s.n = s.acct.net(w, s.region)
	if t, ok := s.at(1, hms(3, 12, 7)); ok && w.end-t > 2*3600 && t-w.start > 2*3600 {
		s.t0 = t
	} else {
		s.t0 = w.start + (w.end-w.start)/2
	}
	s.attackerIP = actorTor.prefix + strconv.Itoa(r.between(2, 250))
	s.scannerIP = actorScanner.prefix + strconv.Itoa(r.between(2, 250))
	if ps := s.acct.princ[kCI]; len(ps) > 0 {
		s.compromised = ps[0]
	} else {
		s.compromised = w.newUser(s.acct, r, "ci-deployer", kCI)
	}
	s.newKey = "AKIA" + charsStr(r, base32Chars, 16)
	s.created = &principal{kind: kApp, acct: s.acct, typ: "IAMUser", name: createdUserName,
		arn:         "arn:aws:iam::" + s.acct.id + ":user/" + createdUserName,
		principalID: "AIDA" + charsStr(r, upperAlnum, 17), accessKey: s.newKey}
	s.target = s.n.web
	if s.target == nil {
		s.target = s.n.bastion
	}

	// The port scan, an hour before the API calls.
	s.scanStart = s.t0 - 62*60 + r.Int64N(60)
	s.scanEnd = s.scanStart + 180 + r.Int64N(60)
	s.ports = scanPorts(r, s.target.open, 260+r.IntN(120))

	t := s.t0
	cli := func(cmd string) string { return uaAttackerCLI + " md/command#" + cmd }
	mark := func(e *evt) *evt {
		if _, ok := s.eventIDs[e.api.name]; !ok {
			s.eventIDs[e.api.name] = e.eventID
		}
		return e
	}
	c := s.compromised
	ip := s.attackerIP
	g := "us-east-1"
	iam := func(name string) *api { return apiByName("iam", name) }

	mark(s.add(t, s.acct, g, apiByName("sts", "GetCallerIdentity"), c, ip, cli("sts.get-caller-identity")))
	mark(s.add(t+23, s.acct, g, iam("ListUsers"), c, ip, cli("iam.list-users")))
	e := mark(s.add(t+41, s.acct, g, iam("ListAttachedUserPolicies"), c, ip, cli("iam.list-attached-user-policies")))
	e.user, e.params = c.name, paramsStoryUser
	for i, name := range []string{"CreateUser", "AttachUserPolicy", "CreateAccessKey", "CreateLoginProfile"} {
		off := []int64{118, 149, 171, 196}[i]
		e := mark(s.add(t+off, s.acct, g, iam(name), c, ip, cli("iam."+map[string]string{
			"CreateUser": "create-user", "AttachUserPolicy": "attach-user-policy",
			"CreateAccessKey": "create-access-key", "CreateLoginProfile": "create-login-profile"}[name])))
		e.user, e.policy, e.newID, e.newKey = createdUserName, adminPolicy, s.created.principalID, s.newKey
	}

	s.loginAt = t + 318
	e = mark(s.add(s.loginAt, s.acct, g, apiByName("signin", "ConsoleLogin"), s.created, ip, uaAttackerBrowser))
	e.extra = loginExtra("No", "", "")
	e.resp = loginResult(true)

	s.stopAt = t + 452
	e = mark(s.add(s.stopAt, s.acct, w.trailHome, apiByName("cloudtrail", "StopLogging"), s.created, ip, "AWS Internal"))
	e.console, e.created = true, s.loginAt

	e = mark(s.add(t+510, s.acct, s.region, apiByName("ec2", "DeleteFlowLogs"), s.created, ip, cli("ec2.delete-flow-logs")))
	e.key = s.newKey
	e.user = s.n.flowLogID
	e.errCode = "Client.UnauthorizedOperation"
	e.errMsg = "You are not authorized to perform this operation. User: " + s.created.arn + " is not authorized to perform: ec2:DeleteFlowLogs on resource: arn:aws:ec2:" + s.region + ":" + s.acct.id + ":vpc-flow-log/" + s.n.flowLogID + " with an explicit deny in a service control policy"

	guard := w.mgmt.princ[kLambda][0]
	e = mark(s.add(s.stopAt+97, w.mgmt, w.trailHome, apiByName("cloudtrail", "StartLogging"), guard, awsIP(r, w.trailHome), uaBoto3Lambda))
	e.session = guard.session

	e = mark(s.add(t+640, s.acct, g, apiByName("s3", "ListBuckets"), s.created, ip, "["+cli("s3.ls")+"]"))
	e.key = s.newKey
	exports := s.acct.buckets[0].base
	for _, b := range s.acct.buckets {
		if b.kind == bkExports {
			exports = b.base
		}
	}
	bucket := exports + "-" + s.region
	for i := 0; i < 6; i++ {
		key := "exports/" + string(appendDate(nil, t-86400*int64(i), '/')) + "/customer-" + strconv.Itoa(r.between(10000, 99999)) + "/invoices-" + strconv.Itoa(r.between(1, 40)) + ".csv.gz"
		size := r.logUniform(200_000, 40_000_000)
		e = mark(s.add(t+700+int64(i)*int64(r.between(9, 40)), s.acct, s.region, apiByName("s3", "GetObject"), s.created, ip, "["+cli("s3.cp")+"]"))
		e.key = s.newKey
		e.prep = func(c *ctx) {
			c.bucket, c.bkind, c.size = bucket, bkExports, size
			c.key = append(c.key[:0], key...)
		}
	}
	s.attackFindings()
}

// scanPorts returns n distinct ports in scan order: the well-known ports
// scanners try first (including the target's open ones), then others.
func scanPorts(r *rng, open []int, n int) []int {
	common := []int{21, 22, 23, 25, 53, 80, 81, 110, 111, 135, 139, 143, 443, 445, 465, 587, 993, 995, 1433, 1521, 1723, 2049, 2375, 2376, 3000, 3306, 3389, 5000, 5432, 5601, 5900, 5985, 6379, 6443, 7001, 8000, 8008, 8080, 8081, 8443, 8888, 9000, 9090, 9200, 9300, 10250, 11211, 27017}
	seen := map[int]bool{}
	var out []int
	add := func(p int) {
		if !seen[p] && len(out) < n {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range open {
		add(p)
	}
	for _, p := range common {
		add(p)
	}
	for len(out) < n {
		if r.Float64() < 0.6 {
			add(r.between(1, 1024))
		} else {
			add(r.between(1025, 65535))
		}
	}
	// Scanners randomise the order.
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// attackFindings builds the GuardDuty findings of the story.
func (s *story) attackFindings() {
	w, r := s.w, s.r
	mk := func(typ string, kind int, region string, sev float64, at int64) *finding {
		f := &finding{id: hexStr(r, 32), typ: typ, kind: kind, acct: s.acct, region: region, severity: sev, role: "TARGET"}
		f.firstSeen = at
		f.created = (at+r.Int64N(240)+300)*1000 + r.Int64N(1000)
		s.findings = append(s.findings, f)
		return f
	}
	update := func(f *finding, counts ...int) {
		last := f.created / 1000
		f.versions = append(f.versions, fversion{updated: f.created, lastSeen: f.firstSeen + r.Int64N(60), count: counts[0]})
		for _, c := range counts[1:] {
			last += 900 + r.Int64N(1800)
			f.versions = append(f.versions, fversion{updated: last*1000 + r.Int64N(1000), lastSeen: last - r.Int64N(300), count: c})
		}
	}
	apiF := func(f *finding, p *principal, api, svc, ua string) {
		f.userName, f.userType, f.principalID, f.accessKey = p.name, "IAMUser", p.principalID, p.accessKey
		f.apiName, f.apiService, f.userAgent = api, svc, ua
		f.remoteIP, f.actor = s.attackerIP, actorTor
	}

	probe := mk("Recon:EC2/PortProbeUnprotectedPort", fkProbe, s.region, 2, s.scanStart)
	probe.inst, probe.ports = s.target, s.target.open
	probe.actor, probe.remoteIP = actorScanner, s.scannerIP
	update(probe, 3, 11)

	tor := mk("Recon:IAMUser/TorIPCaller", fkAPI, "us-east-1", 5, s.t0+23)
	apiF(tor, s.compromised, "ListUsers", "iam.amazonaws.com", uaAttackerCLI)
	tor.threatList, tor.threatName = "TorExitNodes", "TorExitNode"
	update(tor, 2, 5)

	priv := mk("PrivilegeEscalation:IAMUser/AnomalousBehavior", fkAPI, "us-east-1", 5, s.t0+149)
	apiF(priv, s.compromised, "AttachUserPolicy", "iam.amazonaws.com", uaAttackerCLI)
	update(priv, 1, 2)

	pers := mk("Persistence:IAMUser/AnomalousBehavior", fkAPI, "us-east-1", 5, s.t0+118)
	apiF(pers, s.compromised, "CreateAccessKey", "iam.amazonaws.com", uaAttackerCLI)
	update(pers, 2, 4)

	login := mk("UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B", fkAPI, "us-east-1", 5, s.loginAt)
	apiF(login, s.created, "ConsoleLogin", "signin.amazonaws.com", uaAttackerBrowser)
	login.accessKey = ""
	update(login, 1, 2)

	stop := mk("Stealth:IAMUser/CloudTrailLoggingDisabled", fkAPI, "us-east-1", 2, s.stopAt)
	apiF(stop, s.created, "StopLogging", "cloudtrail.amazonaws.com", "AWS Internal")
	// The console session's key, as the StopLogging record shows it.
	stop.accessKey = string(appendKeyChars([]byte("ASIA"), hashOf(w.seed, strHash(s.created.principalID), strHash("console"), uint64(sessionHour(s.stopAt))), 16))
	stop.affType, stop.affName = "AWS::CloudTrail::Trail", w.trailName
	update(stop, 1, 2)

	for _, f := range s.findings {
		f.title, f.description = findingText(f)
	}
}

// manifest describes the attack for tests.
func (s *story) manifest() *Attack {
	if !s.attack {
		return nil
	}
	a := &Attack{
		Account:            s.acct.id,
		Region:             s.region,
		AttackerIP:         s.attackerIP,
		CompromisedUser:    s.compromised.name,
		CompromisedKeyID:   s.compromised.accessKey,
		CreatedUser:        createdUserName,
		AccessKeyID:        s.newKey,
		ConsoleLoginAt:     time.Unix(s.loginAt, 0).UTC(),
		StopLoggingAt:      time.Unix(s.stopAt, 0).UTC(),
		TrailARN:           s.w.trailARN,
		ScannerIP:          s.scannerIP,
		ScanTargetIP:       s.target.ip,
		ScanTargetENI:      s.target.id,
		ScanTargetInstance: s.target.instanceID,
		ScanStart:          time.Unix(s.scanStart, 0).UTC(),
		ScanEnd:            time.Unix(s.scanEnd, 0).UTC(),
		ScannedPorts:       len(s.ports),
		FindingTypes:       map[string]string{},
		EventIDs:           map[string]string{},
	}
	for _, f := range s.findings {
		a.FindingIDs = append(a.FindingIDs, f.id)
		a.FindingTypes[f.id] = f.typ
	}
	for k, v := range s.eventIDs {
		a.EventIDs[k] = v
	}
	return a
}
