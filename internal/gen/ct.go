package gen

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
)

// evt is one CloudTrail event to write. Background events get only t and
// api at planning time; the rest is filled in when they are written, in
// eventTime order. Story events come fully specified.
type evt struct {
	t       int64
	seq     int
	api     *api
	acct    *account
	region  string
	p       *principal
	idType  string // userIdentity.type when it differs from p.typ
	session string // role session name
	key     string // accessKeyId; "" derives one for sessions
	created int64  // session creation; 0 derives one
	mfa     bool
	console bool // sessionCredentialFromConsole
	noTLS   bool
	ip, ua  string
	uaSuf   string // appended to ua (the CLI command, the SDK's API)
	uaBrk   bool   // ua is written in square brackets (S3)
	invoker string // invokedBy
	vpce    string
	errCode string
	errMsg  string
	eventID string
	shared  bool // cross-account: carries a sharedEventID
	filled  bool // caller, addresses and agent already set
	// Values for story events' writers.
	user, policy, newKey, newID string
	// Writers that replace the API's.
	prep, params, resp, extra func(c *ctx)
}

// ctx is what an API's writers see while one event is written.
type ctx struct {
	g   *ctWorker
	r   *rng
	w   *jw
	e   *evt
	a   *account
	n   *network // nil in a region that only carries global events
	cri int      // index in world.ctRegions
	// Scratch shared by an API's writers.
	bucket   string
	bkind    int
	key      []byte
	inst     *eni
	fn       string
	role     string // role name for STS calls
	roleID   string
	size     int64
	reqID    []byte
	keyID    string
	extraBuf []byte
}

// ctCounts is what the CloudTrail generator wrote.
type ctCounts struct {
	events  int
	logs    int
	digests int
	insight int
	// sigs holds each digest's signature (hex) by key, when
	// Config.DigestKey signs them.
	sigs map[string]string
}

// ctGen writes the CloudTrail part: log files (by a pool of workers, each
// file seeded on its own so that the output does not depend on scheduling),
// then digests and Insights files on the calling goroutine.
type ctGen struct {
	w    *world
	st   *story
	cfg  *Config
	plan *rng

	tables  [][]wtable  // per account and ctRegion: API choice
	callers [][]kindTab // per API and account: caller choice
	large   []*api
	pins    [][][]*evt // per account and ctRegion, by time
	dig     [][]*digestState
	counts  ctCounts

	main    *ctWorker // digests and Insights
	workers []*ctWorker
}

// ctWorker is the state one goroutine needs to write files.
type ctWorker struct {
	g      *ctGen
	w      *world
	cfg    *Config
	r      *rng
	j      jw
	c      ctx
	evs    []evt
	keys   []uint64
	keyBuf []byte
	out    *writer
}

func (g *ctGen) newWorker(dir string) (*ctWorker, error) {
	out, err := newWriter(dir, g.cfg.Gzip)
	if err != nil {
		return nil, err
	}
	wk := &ctWorker{g: g, w: g.w, cfg: g.cfg, r: newRng(g.w.seed, streamCTFile), out: out}
	wk.c = ctx{g: wk, r: wk.r, w: &wk.j}
	return wk, nil
}

// stats sums what the workers wrote.
func (g *ctGen) stats() outStats {
	s := g.main.out.stats
	for _, wk := range g.workers {
		s.files += wk.out.stats.files
		s.bytes += wk.out.stats.bytes
		s.raw += wk.out.stats.raw
	}
	return s
}

// maxPerFile bounds the events of one log file (and so the memory a worker
// needs to sort them); busier windows are delivered as several files, as
// AWS does.
const maxPerFile = 5000

// ctJob is one log file to write.
type ctJob struct {
	a      *account
	ri, wi int
	part   int
	ws, we int64
	n      int
	pins   []*evt
}

// ctResult is what a worker reports about a written log file.
type ctResult struct {
	a      *account
	ri     int
	events int
	entry  digestEntry
}

type kindTab struct {
	kinds []pkind
	t     wtable
}

func newCTGen(w *world, st *story, dir string) (*ctGen, error) {
	g := &ctGen{w: w, st: st, cfg: w.cfg, plan: newRng(w.seed, streamCTPlan)}
	var err error
	if g.main, err = g.newWorker(dir); err != nil {
		return nil, err
	}
	for i := 0; i < workers(); i++ {
		wk, err := g.newWorker(dir)
		if err != nil {
			return nil, err
		}
		g.workers = append(g.workers, wk)
	}
	g.tables = make([][]wtable, len(w.accounts))
	for ai, a := range w.accounts {
		for _, region := range w.ctRegions {
			inRegions := w.regionIndex(region) >= 0
			ws := make([]float64, len(apis))
			for i, ap := range apis {
				if ap.weight <= 0 || ap.large {
					continue
				}
				if ap.global && region != "us-east-1" || !ap.global && !inRegions {
					continue
				}
				ws[i] = ap.weight * ap.mult(a)
			}
			g.tables[ai] = append(g.tables[ai], newWTable(ws))
		}
	}
	g.callers = make([][]kindTab, len(apis))
	for i, ap := range apis {
		for _, a := range w.accounts {
			var kt kindTab
			var ws []float64
			for _, c := range ap.callers {
				if len(a.princ[c.k]) > 0 || c.k == kService {
					kt.kinds = append(kt.kinds, c.k)
					ws = append(ws, c.w)
				}
			}
			if len(kt.kinds) == 0 {
				kt.kinds = []pkind{kSSO}
				ws = []float64{1}
			}
			kt.t = newWTable(ws)
			g.callers[i] = append(g.callers[i], kt)
		}
		if ap.large {
			g.large = append(g.large, ap)
		}
	}
	g.pins = make([][][]*evt, len(w.accounts))
	g.dig = make([][]*digestState, len(w.accounts))
	dr := newRng(w.seed, streamCTDigest)
	for ai := range w.accounts {
		g.pins[ai] = make([][]*evt, len(w.ctRegions))
		for range w.ctRegions {
			// Digests end at a fixed second of each hour, as AWS's do.
			off := dr.Int64N(3600)
			g.dig[ai] = append(g.dig[ai], &digestState{end: w.start + off + 1})
		}
	}
	if st != nil {
		for _, e := range st.events {
			ri := w.ctRegionIndex(e.region)
			if ri < 0 || e.t < w.start || e.t >= w.end {
				continue
			}
			g.pins[e.acct.idx][ri] = append(g.pins[e.acct.idx][ri], e)
		}
		for ai := range g.pins {
			for ri := range g.pins[ai] {
				slices.SortStableFunc(g.pins[ai][ri], func(x, y *evt) int { return cmpInt(x.t, y.t) })
			}
		}
	}
	return g, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// activity is the relative amount of activity at a time: a floor of
// machine traffic plus a working-day bump (the company works roughly
// 07:00–19:00 UTC) and quieter weekends.
func activity(sec int64) float64 {
	h := float64(sec%86400) / 3600
	day := (sec/86400 + 4) % 7 // 0 = Sunday
	bump := math.Exp(-((h - 13) * (h - 13)) / 18)
	if day == 0 || day == 6 {
		bump *= 0.25
	}
	return 0.45 + bump
}

// regionWeights spreads activity over regions: the first carries most.
func regionWeights(n int) []float64 {
	ws := make([]float64, n)
	for i := range ws {
		switch i {
		case 0:
			ws[i] = 0.6
		case 1:
			ws[i] = 0.25
		default:
			ws[i] = 0.15 / float64(n-2)
		}
	}
	if n == 1 {
		ws[0] = 1
	} else if n == 2 {
		ws[0], ws[1] = 0.7, 0.3
	}
	return ws
}

const window = 300 // seconds per log file window

func (g *ctGen) run(ctx context.Context) error {
	defer func() {
		g.main.out.abort()
		for _, wk := range g.workers {
			wk.out.abort()
		}
	}()
	w := g.w
	// Windows are aligned to the clock, the first one cut at Start.
	base := w.start - w.start%window
	nWin := int((w.end - base + window - 1) / window)
	total := float64(max(g.cfg.CloudTrailEvents, 0))
	var sumWin float64
	winW := make([]float64, nWin)
	for i := range winW {
		winW[i] = activity(base + int64(i)*window + window/2)
		sumWin += winW[i]
	}
	var sumAcct float64
	for _, a := range w.accounts {
		sumAcct += a.ctWeight
	}
	rw := regionWeights(len(w.regions))
	regW := make([]float64, len(w.ctRegions))
	copy(regW, rw)
	if len(w.ctRegions) > len(w.regions) {
		regW[len(regW)-1] = 0.04 // us-east-1 with global events only
	}
	pinPos := make([][]int, len(w.accounts))
	for i := range pinPos {
		pinPos[i] = make([]int, len(w.ctRegions))
	}
	produce := func(submit func(ctJob) error) error {
		for wi := 0; wi < nWin; wi++ {
			ws := max(base+int64(wi)*window, w.start)
			we := min(base+int64(wi+1)*window, w.end)
			for ai, a := range w.accounts {
				for ri := range w.ctRegions {
					exp := total * winW[wi] / sumWin * a.ctWeight / sumAcct * regW[ri]
					exp *= 0.85 + 0.3*g.plan.Float64()
					n := int(exp)
					if g.plan.Float64() < exp-float64(n) {
						n++
					}
					if g.tables[ai][ri].empty() {
						n = 0
					}
					pins := g.pins[ai][ri]
					p0 := pinPos[ai][ri]
					p1 := p0
					for p1 < len(pins) && pins[p1].t < we {
						p1++
					}
					pinPos[ai][ri] = p1
					if n == 0 && p1 == p0 {
						continue
					}
					parts := max(1, (n+maxPerFile-1)/maxPerFile)
					for part := 0; part < parts; part++ {
						j := ctJob{a: a, ri: ri, wi: wi, part: part, ws: ws, we: we, n: n / parts}
						if part == 0 {
							j.n += n % parts
							j.pins = pins[p0:p1]
						}
						if err := submit(j); err != nil {
							return err
						}
					}
				}
			}
		}
		return nil
	}
	work := func(i int, j ctJob) (ctResult, error) {
		return g.workers[i].logFile(j)
	}
	consume := func(res ctResult) error {
		g.counts.events += res.events
		g.counts.logs++
		return g.addToDigest(res.a, res.ri, res.entry)
	}
	if err := ordered(ctx, len(g.workers), produce, work, consume); err != nil {
		return err
	}
	for ai := range g.dig {
		for ri, d := range g.dig[ai] {
			// Digests go on until after the last delivery.
			for d.end-3600 < w.end+600 {
				if err := g.digest(w.accounts[ai], ri, d); err != nil {
					return err
				}
			}
		}
	}
	return g.insights()
}

// logFile writes one CloudTrail log file: j.n background events in
// [j.ws, j.we) and the story events j.pins, in eventTime order.
func (g *ctWorker) logFile(j ctJob) (ctResult, error) {
	a, ri, ws, we, n := j.a, j.ri, j.ws, j.we, j.n
	r := g.r
	r.reseed(g.w.seed, streamCTFile, uint64(a.idx), uint64(ri), uint64(j.wi), uint64(j.part))
	evs := g.evs[:0]
	keys := g.keys[:0]
	tab := &g.g.tables[a.idx][ri]
	for i := 0; i < n; i++ {
		ap := apis[tab.pick(r)]
		if g.cfg.LargeParams && r.Float64() < 0.05 {
			if l := g.g.pickLarge(r, g.w.ctRegions[ri]); l != nil {
				ap = l
			}
		}
		t := ws + r.Int64N(we-ws)
		evs = append(evs, evt{t: t, seq: i, api: ap})
		keys = append(keys, uint64(t-ws)<<32|uint64(i))
	}
	for i, p := range j.pins {
		e := *p
		e.seq = n + i
		evs = append(evs, e)
		keys = append(keys, uint64(e.t-ws)<<32|uint64(n+i))
	}
	slices.Sort(keys)
	g.evs, g.keys = evs, keys
	region := g.w.ctRegions[ri]
	deliver := we + r.Int64N(150) + 45
	b := appendDeliveryKey(g.keyBuf[:0], g.cfg.OrgID, a.id, "CloudTrail", region, deliver)
	b = appendStamp(b, deliver, false)
	b = append(b, '_')
	b = appendChars(b, r, mixedAlnum, 16)
	b = append(b, ".json.gz"...)
	g.keyBuf = b
	key := string(b)
	if err := g.out.create(key, true); err != nil {
		return ctResult{}, err
	}
	g.j.reset()
	g.j.b = append(g.j.b, `{"Records":[`...)
	for i, k := range keys {
		e := &evs[k&0xffffffff]
		e.acct = a
		e.region = region
		if i > 0 {
			g.j.b = append(g.j.b, ',')
		}
		g.render(e, ri)
		if len(g.j.b) >= 32<<10 {
			if err := g.out.write(g.j.b); err != nil {
				return ctResult{}, err
			}
			g.j.reset()
		}
	}
	g.j.b = append(g.j.b, `]}`...)
	if err := g.out.write(g.j.b); err != nil {
		return ctResult{}, err
	}
	sum, _, err := g.out.close()
	if err != nil {
		return ctResult{}, err
	}
	oldest := ws + int64(keys[0]>>32)
	newest := ws + int64(keys[len(keys)-1]>>32)
	return ctResult{a: a, ri: ri, events: len(evs),
		entry: digestEntry{key: key, hash: sum, oldest: oldest, newest: newest, delivered: deliver}}, nil
}

func (g *ctGen) pickLarge(r *rng, region string) *api {
	var cands [8]*api
	n := 0
	for _, l := range g.large {
		if l.global == (region == "us-east-1") || !l.global {
			if l.global && region != "us-east-1" {
				continue
			}
			if !l.global && g.w.regionIndex(region) < 0 {
				continue
			}
			if n < len(cands) {
				cands[n] = l
				n++
			}
		}
	}
	if n == 0 {
		return nil
	}
	return cands[r.IntN(n)]
}

// render appends one event record to g.j.
func (g *ctWorker) render(e *evt, ri int) {
	c := &g.c
	*c = ctx{g: g, r: g.r, w: &g.j, e: e, a: e.acct, n: e.acct.net(g.w, e.region), cri: ri,
		key: c.key[:0], reqID: c.reqID[:0], extraBuf: c.extraBuf[:0]}
	ap := e.api
	if !e.filled {
		g.fill(c)
	}
	if e.prep != nil {
		e.prep(c)
	} else if ap.prep != nil {
		ap.prep(c)
	}
	if e.errCode == "" && len(ap.errs) > 0 && e.eventID == "" {
		g.pickError(c)
	}
	w := c.w
	r := c.r
	w.Obj()
	ver := ap.ver
	if ap.ver2 != "" && r.Float64() < 0.3 {
		ver = ap.ver2
	}
	w.KS("eventVersion", ver)
	c.identity()
	w.KT("eventTime", e.t)
	w.KS("eventSource", ap.src)
	w.KS("eventName", ap.name)
	w.KS("awsRegion", e.region)
	w.KS("sourceIPAddress", e.ip)
	if e.ua != "" {
		// User agents are constants without characters to escape.
		w.K("userAgent")
		w.Open()
		if e.uaBrk {
			w.b = append(w.b, '[')
		}
		w.b = append(w.b, e.ua...)
		w.b = append(w.b, e.uaSuf...)
		if e.uaBrk {
			w.b = append(w.b, ']')
		}
		w.Close()
	}
	if e.errCode != "" {
		w.KS("errorCode", e.errCode)
	}
	if e.errMsg != "" {
		w.KS("errorMessage", e.errMsg)
	}
	c.reqID = ap.appendRequestID(c.reqID[:0], r)
	w.K("requestParameters")
	switch {
	case e.params != nil:
		e.params(c)
	case ap.params != nil:
		ap.params(c)
	default:
		w.Null()
	}
	w.K("responseElements")
	switch {
	case e.errCode != "":
		w.Null()
	case e.resp != nil:
		e.resp(c)
	case ap.resp != nil:
		ap.resp(c)
	default:
		w.Null()
	}
	if e.extra != nil {
		w.K("additionalEventData")
		e.extra(c)
	} else if ap.extra != nil {
		w.K("additionalEventData")
		ap.extra(c)
	}
	service := ap.etype == "AwsServiceEvent"
	signin := ap.etype == "AwsConsoleSignIn"
	if !service && !signin {
		w.KSRaw("requestID", c.reqID)
	}
	w.K("eventID")
	if e.eventID != "" {
		w.S(e.eventID)
	} else {
		w.Open()
		w.b = appendUUID(w.b, r)
		w.Close()
	}
	w.KB("readOnly", ap.ro)
	if ap.res != nil {
		w.K("resources")
		ap.res(c)
	}
	et := ap.etype
	if et == "" {
		et = "AwsApiCall"
	}
	w.KS("eventType", et)
	if !service {
		w.KB("managementEvent", !ap.data)
	}
	w.KS("recipientAccountId", e.acct.id)
	if e.shared {
		w.K("sharedEventID")
		w.Open()
		w.b = appendUUID(w.b, r)
		w.Close()
	}
	if e.vpce != "" {
		w.KS("vpcEndpointId", e.vpce)
		if ver != "1.08" {
			w.KS("vpcEndpointAccountId", e.acct.id)
		}
	}
	if ap.sed != nil {
		w.K("serviceEventDetails")
		ap.sed(c)
	}
	if ap.data {
		w.KS("eventCategory", "Data")
	} else {
		w.KS("eventCategory", "Management")
	}
	if !e.noTLS && !service && !e.console && e.invoker == "" {
		w.KObj("tlsDetails")
		if r.Float64() < 0.82 {
			w.KS("tlsVersion", "TLSv1.3")
			w.KS("cipherSuite", "TLS_AES_128_GCM_SHA256")
		} else {
			w.KS("tlsVersion", "TLSv1.2")
			w.KS("cipherSuite", "ECDHE-RSA-AES128-GCM-SHA256")
		}
		w.K("clientProvidedHostHeader")
		w.Open()
		c.appendHost()
		w.Close()
		w.EndObj()
	}
	if e.console {
		w.KS("sessionCredentialFromConsole", "true")
	}
	w.EndObj()
}

// appendHost appends the endpoint host name the client used.
func (c *ctx) appendHost() {
	ap, w := c.e.api, c.w
	switch {
	case ap.host != "":
		w.b = append(w.b, ap.host...)
	case ap.svc == "s3" && c.bucket != "":
		w.b = append(w.b, c.bucket...)
		w.b = append(w.b, ".s3."...)
		w.b = append(w.b, c.e.region...)
		w.b = append(w.b, ".amazonaws.com"...)
	default:
		w.b = append(w.b, ap.endpoint...)
		w.b = append(w.b, '.')
		w.b = append(w.b, c.e.region...)
		w.b = append(w.b, ".amazonaws.com"...)
	}
}

// fill chooses the caller, session, address and user agent of a
// background event.
func (g *ctWorker) fill(c *ctx) {
	e, r, a := c.e, c.r, c.a
	ap := e.api
	kt := &g.g.callers[ap.idx][a.idx]
	k := kt.kinds[kt.t.pick(r)]
	if k == kService {
		e.p = a.princ[kService][0]
		e.invoker = "AWS Internal"
		if len(ap.invokers) > 0 {
			e.invoker = pick(r, ap.invokers)
		}
		e.ip, e.ua = e.invoker, e.invoker
		if r.Float64() < 0.1 {
			e.ip, e.ua = "AWS Internal", "AWS Internal"
		}
		e.filled = true
		return
	}
	ps := a.princ[k]
	p := ps[r.IntN(len(ps))]
	e.p = p
	c.session()
	c.address()
	if len(ap.via) > 0 && (k == kEC2 || k == kLambda || k == kECS || k == kSSO || k == kApp) && r.Float64() < ap.viaP {
		e.invoker = pick(r, ap.via)
		e.ip, e.ua = e.invoker, e.invoker
		e.vpce = ""
	}
	e.filled = true
}

// session picks the session of a role principal (or a console session of
// a person).
func (c *ctx) session() {
	e, p, r := c.e, c.e.p, c.r
	switch p.kind {
	case kSSO, kConsole, kSAML, kIDC:
		h := c.g.w.humans[r.IntN(len(c.g.w.humans))]
		e.session = h.email
		if p.kind == kConsole {
			e.console = true
		}
	case kEC2:
		if c.n != nil && len(c.n.instances) > 0 {
			c.inst = c.n.instances[r.IntN(len(c.n.instances))]
			e.session = c.inst.instanceID
		} else {
			e.session = "i-" + hexStr(r, 17)
		}
	case kECS:
		b := make([]byte, 0, 32)
		h := hashOf(c.g.w.seed, strHash(p.arn), uint64(e.t/3600))
		for i := 0; i < 32; i++ {
			if i%16 == 0 && i > 0 {
				h = mix64(h)
			}
			b = append(b, hexDigits[h&15])
			h >>= 4
		}
		e.session = string(b)
	case kHuman, kRoot:
		e.console = true
		e.mfa = true
	default:
		e.session = p.session
	}
}

// address picks the source address, user agent and VPC endpoint.
func (c *ctx) address() {
	e, p, r, ap := c.e, c.e.p, c.r, c.e.api
	w := c.g.w
	s3 := ap.svc == "s3"
	switch p.kind {
	case kSSO:
		if r.Float64() < 0.85 {
			e.ip = pick(r, w.corpIPs)
		} else {
			e.ip = pick(r, remoteIPs)
		}
		c.cliAgent(pick(r, uaPeople))
	case kConsole, kHuman, kRoot, kSAML:
		e.ip = pick(r, w.corpIPs)
		switch {
		case s3:
			e.ua = uaS3Console
		case r.Float64() < 0.7:
			e.ua = "AWS Internal"
		default:
			e.ua = "console.amazonaws.com"
		}
		if p.kind == kSAML {
			e.ua = pick(r, uaBrowsers)
		}
	case kCI:
		e.ip = pick(r, w.ciIPs)
		if r.Float64() < 0.7 {
			c.terraformAgent()
		} else {
			c.cliAgent(uaCLILinux)
		}
	case kApp, kFed:
		e.ip = c.natIP()
		e.ua = uaJavaV1
	case kEC2:
		e.ip = c.natIP()
		switch ap.svc {
		case "ssm", "ec2messages":
			e.ua = uaSSMAgent
		case "logs", "monitoring":
			e.ua = uaCWAgent
		default:
			e.ua = uaBoto3EC2
		}
		if s3 && c.n != nil && r.Float64() < 0.8 {
			e.vpce = c.n.vpce
			if c.inst != nil {
				e.ip = c.inst.ip
			}
		}
	case kECS:
		e.ip = c.natIP()
		e.ua = uaJavaECS
		if s3 && c.n != nil {
			e.vpce = c.n.vpce
			e.ip = c.n.apps[r.IntN(len(c.n.apps))].ip
		}
	case kLambda:
		if c.n != nil && r.Float64() < 0.5 {
			e.ip = c.n.natEIP
		} else {
			e.ip = awsIP(r, e.region)
		}
		if r.Float64() < 0.6 {
			e.ua = uaBoto3Lambda
		} else {
			e.ua = uaNodeLambda
		}
	case kConfig:
		e.ip, e.ua = "config.amazonaws.com", "config.amazonaws.com"
		e.invoker = "config.amazonaws.com"
	case kAudit:
		sec := w.security
		e.ip = sec.nets[0].natEIP
		e.ua = uaProwler
	case kXAcct:
		e.ip = w.security.nets[0].natEIP
		e.ua = uaProwler
	case kOIDC:
		e.ip = pick(r, w.ghIPs)
		if ap.name == "AssumeRoleWithWebIdentity" {
			e.ua = uaGHAction
		} else {
			c.terraformAgent()
		}
	case kIDC:
		e.ip = pick(r, w.corpIPs)
		c.cliAgent(pick(r, uaPeople))
	}
	if s3 && len(e.ua) > 0 && e.ua[0] != '[' && e.ua != "AWS Internal" && e.invoker == "" {
		e.uaBrk = true
	}
}

func (c *ctx) natIP() string {
	if c.n != nil {
		return c.n.natEIP
	}
	return c.a.nets[0].natEIP
}

// cliAgent sets an AWS CLI user agent, completed with its md/command part.
func (c *ctx) cliAgent(base string) {
	c.e.ua = base
	if len(base) >= 7 && base[:7] == "aws-cli" {
		c.e.uaSuf = c.e.api.cliSuffix
	}
}

// terraformAgent sets Terraform's user agent.
func (c *ctx) terraformAgent() {
	c.e.ua, c.e.uaSuf = uaTerraform, c.e.api.tfSuffix
}

// callerARN returns the ARN error messages name.
func (c *ctx) callerARN() string {
	e, p := c.e, c.e.p
	switch p.typ {
	case "AssumedRole":
		return "arn:aws:sts::" + p.acct.id + ":assumed-role/" + p.name + "/" + e.session
	case "":
		return ""
	}
	return p.arn
}

// pickError turns a few percent of calls into failures.
func (g *ctWorker) pickError(c *ctx) {
	e, r := c.e, c.r
	if e.p != nil && (e.p.kind == kService || e.p.kind == kConfig) && r.Float64() < 0.8 {
		return
	}
	x := r.Float64()
	for _, er := range e.api.errs {
		if x < er.p {
			e.errCode = er.code
			e.errMsg = c.errMessage(er.msg)
			return
		}
		x -= er.p
	}
}

func (c *ctx) errMessage(m string) string {
	ap := c.e.api
	action := ap.svc + ":" + ap.name
	switch m {
	case "!deny":
		return "User: " + c.callerARN() + " is not authorized to perform: " + action + " because no identity-based policy allows the " + action + " action"
	case "!ec2deny":
		return "You are not authorized to perform this operation. User: " + c.callerARN() + " is not authorized to perform: " + action + " because no identity-based policy allows the " + action + " action"
	case "!nosuchrole":
		return "The role with name " + c.role + " cannot be found."
	case "!kmsdeny":
		return "User: " + c.callerARN() + " is not authorized to perform: " + action + " on resource: arn:aws:kms:" + c.e.region + ":" + c.a.id + ":key/" + c.a.kmsKeys[c.cri][0] + " because no resource-based policy allows the " + action + " action"
	}
	return m
}

// identity writes userIdentity.
func (c *ctx) identity() {
	e, p, w := c.e, c.e.p, c.w
	typ := p.typ
	if e.idType != "" {
		typ = e.idType
	}
	w.KObj("userIdentity")
	switch typ {
	case "IAMUser":
		w.KS("type", "IAMUser")
		w.KS("principalId", p.principalID)
		w.KS("arn", p.arn)
		w.KS("accountId", p.acct.id)
		switch {
		case e.key != "":
			w.KS("accessKeyId", e.key)
		case e.console:
			c.writeSessionKey(p.principalID, "console")
		case e.api.etype == "AwsConsoleSignIn":
		default:
			w.KS("accessKeyId", p.accessKey)
		}
		w.KS("userName", p.name)
		if e.console {
			w.KObj("sessionContext")
			c.attributes(p.principalID, "console")
			w.EndObj()
		}
	case "AssumedRole":
		w.KS("type", "AssumedRole")
		w.KS3("principalId", p.principalID, ":", e.session)
		w.K("arn")
		w.Open()
		w.b = append(w.b, "arn:aws:sts::"...)
		w.b = append(w.b, p.acct.id...)
		w.b = append(w.b, ":assumed-role/"...)
		w.b = append(w.b, p.name...)
		w.b = append(w.b, '/')
		w.b = append(w.b, e.session...)
		w.Close()
		w.KS("accountId", p.acct.id)
		if e.api.etype != "AwsConsoleSignIn" {
			if e.key != "" {
				w.KS("accessKeyId", e.key)
			} else {
				c.writeSessionKey(p.principalID, e.session)
			}
		}
		w.KObj("sessionContext")
		w.KObj("sessionIssuer")
		w.KS("type", "Role")
		w.KS("principalId", p.principalID)
		w.KS("arn", p.arn)
		w.KS("accountId", p.acct.id)
		w.KS("userName", p.name)
		w.EndObj()
		w.KObj("webIdFederationData")
		w.EndObj()
		c.attributes(p.principalID, e.session)
		if p.kind == kEC2 {
			w.KS("ec2RoleDelivery", "2.0")
		}
		w.EndObj()
		if e.invoker != "" {
			w.KS("invokedBy", e.invoker)
		}
	case "AWSService":
		w.KS("type", "AWSService")
		w.KS("invokedBy", e.invoker)
	case "AWSAccount":
		w.KS("type", "AWSAccount")
		w.KS("principalId", p.principalID)
		w.KS("accountId", p.issuer.acct.id)
	case "Root":
		w.KS("type", "Root")
		w.KS("principalId", p.principalID)
		w.KS("arn", p.arn)
		w.KS("accountId", p.acct.id)
		if e.api.etype == "AwsConsoleSignIn" {
			w.KS("accessKeyId", "")
		} else {
			c.writeSessionKey(p.principalID, "root")
			w.KObj("sessionContext")
			c.attributes(p.principalID, "root")
			w.EndObj()
		}
	case "FederatedUser":
		w.KS("type", "FederatedUser")
		w.KS("principalId", p.principalID)
		w.KS("arn", p.arn)
		w.KS("accountId", p.acct.id)
		c.writeSessionKey(p.principalID, "fed")
		w.KObj("sessionContext")
		w.KObj("sessionIssuer")
		w.KS("type", "IAMUser")
		w.KS("principalId", p.issuer.principalID)
		w.KS("arn", p.issuer.arn)
		w.KS("accountId", p.acct.id)
		w.KS("userName", p.issuer.name)
		w.EndObj()
		c.attributes(p.principalID, "fed")
		w.EndObj()
	case "IdentityCenterUser":
		h := c.g.w.humans[int(strHash(e.session)%uint64(len(c.g.w.humans)))]
		w.KS("type", "IdentityCenterUser")
		w.KS("accountId", p.acct.id)
		w.KObj("onBehalfOf")
		w.KS("userId", h.idcID)
		w.KS3("identityStoreArn", "arn:aws:identitystore::"+p.acct.id+":identitystore/", c.g.w.idStore, "")
		w.EndObj()
		w.K("credentialId")
		w.Open()
		w.b = appendKeyChars(w.b, hashOf(c.g.w.seed, strHash(h.idcID), uint64(e.t/28800)), 24)
		w.Close()
	case "SAMLUser":
		q := c.samlQualifier()
		w.KS("type", "SAMLUser")
		w.KS3("principalId", q, ":", e.session)
		w.KS("userName", e.session)
		w.KS("identityProvider", q)
	case "WebIdentityUser":
		w.KS("type", "WebIdentityUser")
		w.KS("principalId", "token.actions.githubusercontent.com:sts.amazonaws.com:"+ghSubject)
		w.KS("userName", ghSubject)
		w.KS("identityProvider", "token.actions.githubusercontent.com")
	default: // AWS service events: no type
		w.KS("accountId", p.acct.id)
		w.KS("invokedBy", e.invoker)
	}
	w.EndObj()
}

const ghSubject = "repo:" + company + "/platform:ref:refs/heads/main"

// samlQualifier is the account's SAML name qualifier (a base64 hash).
func (c *ctx) samlQualifier() string {
	h := hashOf(c.g.w.seed, strHash(c.a.id), 0x5a31)
	b := make([]byte, 0, 28)
	for i := 0; i < 27; i++ {
		if i%10 == 0 && i > 0 {
			h = mix64(h)
		}
		b = append(b, base64Chars[h&63])
		h >>= 6
	}
	return string(append(b, '='))
}

// sessionHour is the start of the credential session an event belongs to.
func sessionHour(t int64) int64 { return t - t%3600 }

// writeSessionKey writes accessKeyId of temporary credentials: the same
// key for all calls of a session (an hour).
func (c *ctx) writeSessionKey(pid, session string) {
	c.w.K("accessKeyId")
	c.w.Open()
	c.w.b = append(c.w.b, "ASIA"...)
	c.w.b = appendKeyChars(c.w.b, hashOf(c.g.w.seed, strHash(pid), strHash(session), uint64(sessionHour(c.e.t))), 16)
	c.w.Close()
}

// attributes writes sessionContext.attributes.
func (c *ctx) attributes(pid, session string) {
	e, w := c.e, c.w
	created := e.created
	if created == 0 {
		h := hashOf(c.g.w.seed, strHash(pid), strHash(session), uint64(sessionHour(e.t)))
		created = sessionHour(e.t) - int64(h%900)
	}
	w.KObj("attributes")
	w.KT("creationDate", created)
	if e.mfa {
		w.KS("mfaAuthenticated", "true")
	} else {
		w.KS("mfaAuthenticated", "false")
	}
	w.EndObj()
}

// digestEntry is one log file a digest vouches for.
type digestEntry struct {
	key            string
	hash           string
	oldest, newest int64
	delivered      int64
}

// digestState is the digest chain of one account and region.
type digestState struct {
	end                      int64
	files                    []digestEntry
	prevKey, prevHash, prevS string
}

func (g *ctGen) addToDigest(a *account, ri int, de digestEntry) error {
	d := g.dig[a.idx][ri]
	for de.delivered >= d.end {
		if err := g.digest(a, ri, d); err != nil {
			return err
		}
	}
	d.files = append(d.files, de)
	return nil
}

// digest writes the digest file ending at d.end and advances the chain by
// an hour.
func (g *ctGen) digest(a *account, ri int, d *digestState) error {
	w := g.w
	m := g.main
	region := w.ctRegions[ri]
	start, end := d.end-3600, d.end
	b := appendDeliveryKey(m.keyBuf[:0], g.cfg.OrgID, a.id, "CloudTrail-Digest", region, end)
	b = append(b, w.trailName...)
	b = append(b, '_')
	b = append(b, w.trailHome...)
	b = append(b, '_')
	b = appendStamp(b, end, true)
	b = append(b, ".json.gz"...)
	m.keyBuf = b
	key := string(b)

	j := &m.j
	j.reset()
	j.Obj()
	j.KS("awsAccountId", a.id)
	j.KT("digestStartTime", start)
	j.KT("digestEndTime", end)
	j.KS("digestS3Bucket", w.trailBkt)
	j.KS("digestS3Object", key)
	j.KS("digestPublicKeyFingerprint", w.keyFinger[ri])
	j.KS("digestSignatureAlgorithm", "SHA256withRSA")
	if len(d.files) == 0 {
		j.KNull("newestEventTime")
		j.KNull("oldestEventTime")
	} else {
		oldest, newest := d.files[0].oldest, d.files[0].newest
		for _, f := range d.files {
			oldest = min(oldest, f.oldest)
			newest = max(newest, f.newest)
		}
		j.KT("newestEventTime", newest)
		j.KT("oldestEventTime", oldest)
	}
	if d.prevKey == "" {
		for _, k := range []string{"previousDigestS3Bucket", "previousDigestS3Object", "previousDigestHashValue", "previousDigestHashAlgorithm", "previousDigestSignature"} {
			j.KNull(k)
		}
	} else {
		j.KS("previousDigestS3Bucket", w.trailBkt)
		j.KS("previousDigestS3Object", d.prevKey)
		j.KS("previousDigestHashValue", d.prevHash)
		j.KS("previousDigestHashAlgorithm", "SHA-256")
		j.KS("previousDigestSignature", d.prevS)
	}
	j.KArr("logFiles")
	// AWS lists the newest files first.
	for i := len(d.files) - 1; i >= 0; i-- {
		f := d.files[i]
		j.Obj()
		j.KS("s3Bucket", w.trailBkt)
		j.KS("s3Object", f.key)
		j.KS("hashValue", f.hash)
		j.KS("hashAlgorithm", "SHA-256")
		j.KT("newestEventTime", f.newest)
		j.KT("oldestEventTime", f.oldest)
		j.EndObj()
	}
	j.EndArr()
	j.EndObj()
	if err := m.out.create(key, true); err != nil {
		return err
	}
	if err := m.out.write(j.b); err != nil {
		return err
	}
	sum, _, err := m.out.close()
	if err != nil {
		return err
	}
	prev := d.prevS
	if prev == "" {
		prev = "null"
	}
	toSign := rfc3339(end) + "\n" + w.trailBkt + "/" + key + "\n" + sum + "\n" + prev
	if g.cfg.DigestKey != nil {
		h := sha256.Sum256([]byte(toSign))
		sig, err := rsa.SignPKCS1v15(rand.Reader, g.cfg.DigestKey, crypto.SHA256, h[:])
		if err != nil {
			return fmt.Errorf("signing digest %s: %w", key, err)
		}
		d.prevS = hex.EncodeToString(sig)
		if g.counts.sigs == nil {
			g.counts.sigs = map[string]string{}
		}
		g.counts.sigs[key] = d.prevS
	} else {
		d.prevS = fakeSignature(toSign)
	}
	d.prevKey, d.prevHash = key, sum
	d.files = d.files[:0]
	d.end += 3600
	g.counts.digests++
	return nil
}

// fakeSignature stands in (without Config.DigestKey) for the RSA signature AWS computes over a
// digest's string to sign (which it stores in the object's metadata and
// in the next digest's previousDigestSignature). We have no AWS key, so it
// is a deterministic 256-byte value derived from the string to sign: it
// chains digests like the real one but does not verify against any key.
func fakeSignature(toSign string) string {
	sum := sha256.Sum256([]byte(toSign))
	out := make([]byte, 0, 256)
	block := sum
	for len(out) < 256 {
		block = sha256.Sum256(append(block[:], sum[:]...))
		out = append(out, block[:]...)
	}
	return hex.EncodeToString(out[:256])
}

// insights writes two CloudTrail Insights events (a Start and an End
// record each), every record in its own CloudTrail-Insight file.
func (g *ctGen) insights() error {
	w := g.w
	m := g.main
	r := newRng(w.seed, streamCTInsight)
	span := w.end - w.start
	type ins struct {
		acct             *account
		region           string
		src, name, itype string
		start, dur       int64
		base, peak       float64
		attr             string
	}
	dev := w.accounts[len(w.accounts)-1]
	if len(w.accounts) > 3 {
		dev = w.accounts[3]
	}
	list := []ins{
		{dev, w.regions[0], "ssm.amazonaws.com", "UpdateInstanceInformation", "ApiCallRateInsight", w.start + span*20/72, 41, 85.42, 664, "ec2-app-role"},
		{w.victim, w.regions[0], "s3.amazonaws.com", "GetObject", "ApiErrorRateInsight", w.start + span*58/72, 23, 0.07, 19.5, "AccessDenied"},
	}
	for _, in := range list {
		shared := uuidStr(r)
		for _, state := range []string{"Start", "End"} {
			t := in.start
			if state == "End" {
				t = in.start + in.dur*60
			}
			if t >= w.end {
				continue
			}
			j := &m.j
			j.reset()
			j.b = append(j.b, `{"Records":[`...)
			j.Obj()
			j.KS("eventVersion", "1.08")
			j.KT("eventTime", t)
			j.KS("awsRegion", in.region)
			j.K("eventID")
			j.Open()
			j.b = appendUUID(j.b, r)
			j.Close()
			j.KS("eventType", "AwsCloudTrailInsight")
			j.KS("recipientAccountId", in.acct.id)
			j.KS("sharedEventID", shared)
			j.KObj("insightDetails")
			j.KS("state", state)
			j.KS("eventSource", in.src)
			j.KS("eventName", in.name)
			j.KS("insightType", in.itype)
			j.KObj("insightContext")
			j.KObj("statistics")
			j.KObj("baseline")
			j.KF("average", in.base)
			j.EndObj()
			j.KObj("insight")
			if state == "End" {
				j.KF("average", math.Round(in.peak*0.8*100)/100)
			} else {
				j.KF("average", in.peak)
			}
			j.EndObj()
			if state == "End" {
				j.KI("insightDuration", in.dur)
			}
			j.KI("baselineDuration", 10080)
			j.EndObj()
			j.KArr("attributions")
			attr := func(name, value string, ia, ba float64) {
				j.Obj()
				j.KS("attribute", name)
				j.KArr("insight")
				j.Obj()
				j.KS("value", value)
				j.KF("average", ia)
				j.EndObj()
				j.EndArr()
				j.KArr("baseline")
				j.Obj()
				j.KS("value", value)
				j.KF("average", ba)
				j.EndObj()
				j.EndArr()
				j.EndObj()
			}
			if in.itype == "ApiCallRateInsight" {
				attr("userIdentityArn", "arn:aws:sts::"+in.acct.id+":assumed-role/"+in.attr+"/i-"+hexStr(r, 17), in.peak*0.9, in.base*0.5)
				attr("userAgent", uaSSMAgent, in.peak, in.base)
				attr("errorCode", "null", in.peak, in.base)
			} else {
				attr("userIdentityArn", "arn:aws:sts::"+in.acct.id+":assumed-role/nightly-report-role/nightly-report", in.peak*0.95, in.base)
				attr("userAgent", uaBoto3Lambda, in.peak, in.base)
				attr("errorCode", in.attr, in.peak, in.base)
			}
			j.EndArr()
			j.EndObj()
			j.EndObj()
			j.KS("eventCategory", "Insight")
			j.EndObj()
			j.b = append(j.b, "]}"...)
			deliver := t + r.Int64N(240) + 60
			key := fmt.Sprintf("AWSLogs/%s/%s/CloudTrail-Insight/%s/%s/%s_CloudTrail-Insight_%s_%s_%s.json.gz",
				g.cfg.OrgID, in.acct.id, in.region, appendDate(nil, deliver, '/'), in.acct.id, in.region,
				appendStamp(nil, deliver, false), charsStr(r, mixedAlnum, 16))
			if err := m.out.create(key, false); err != nil {
				return err
			}
			if err := m.out.write(j.b); err != nil {
				return err
			}
			if _, _, err := m.out.close(); err != nil {
				return err
			}
			g.counts.events++
			g.counts.insight++
		}
	}
	return nil
}
