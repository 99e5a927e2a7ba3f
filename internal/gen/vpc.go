package gen

import (
	"context"
	"strconv"
)

// VPC Flow Logs delivered to S3 as text: one flow log per account and
// region capturing its whole VPC, one file per 5-minute window (records
// whose end falls in the window), a header line naming the fields first.
// Most accounts use a custom version-5 format; the dev account keeps AWS's
// default format (the 14 version-2 fields).

// flowWindow is the span of one flow-log file (AWS publishes every 5 to 10
// minutes; ten keeps the file count of small data sets down).
const flowWindow = 600

const (
	flowFieldsV5 = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id flow-direction traffic-path"
	flowFieldsV2 = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)

// addr is an address: a string, or an IPv4 address as a number (to build
// lines without allocating).
type addr struct {
	s string
	n uint32
}

func (a addr) append(b []byte) []byte {
	if a.s != "" {
		return append(b, a.s...)
	}
	b = strconv.AppendUint(b, uint64(a.n>>24), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(a.n>>16&255), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(a.n>>8&255), 10)
	b = append(b, '.')
	return strconv.AppendUint(b, uint64(a.n&255), 10)
}

func sa(s string) addr { return addr{s: s} }

var internetFirst = [...]uint32{24, 31, 37, 46, 62, 66, 73, 77, 78, 82, 86, 88, 90, 93, 95, 98, 104, 107, 109, 122, 151, 176, 178, 183, 188, 194, 195, 201, 212, 213, 217, 220}

// internetAddr returns a public IPv4 address of a residential or hosting
// network.
func internetAddr(r *rng) addr {
	x := r.Uint32()
	first := internetFirst[x%uint32(len(internetFirst))]
	return addr{n: first<<24 | (x>>5)&0xffff00 | 1 + (x>>23)%254}
}

// s3Addr returns an S3 address of the region.
func s3Addr(r *rng, region string) addr {
	x := r.Uint32()
	switch region {
	case "us-east-1":
		return addr{n: 52<<24 | 216<<16 | (x & 0x1ffff)}
	case "eu-west-1":
		return addr{n: 52<<24 | 218<<16 | (x & 0x7fff)}
	case "ap-southeast-2":
		return addr{n: 52<<24 | 95<<16 | 128<<8 | (x & 0x7ff)}
	}
	return addr{n: 3<<24 | 5<<16 | (x & 0xffff)}
}

// flow is one flow-log record.
type flow struct {
	e              *eni
	src, dst       addr
	pktSrc, pktDst addr // zero: same as src/dst
	sport, dport   int
	proto          int
	packets, bytes int64
	start, end     int64
	action         string
	status         string // "" = OK
	flags          int    // -1 writes "-"
	v6             bool
	egress         bool
	path           int // 0 writes "-"
}

// vpcGen writes the flow logs with a pool of workers; each file is seeded
// on its own, so the output does not depend on scheduling.
type vpcGen struct {
	w       *world
	st      *story
	plan    *rng
	records int
	probes  []probe
	workers []*vpcWorker
}

// vpcWorker is the state one goroutine needs to write files.
type vpcWorker struct {
	g      *vpcGen
	w      *world
	st     *story
	out    *writer
	r      *rng
	line   []byte
	ws, we int64
	v2     bool
	n      *network
	conv   []flow
}

type vpcJob struct {
	a      *account
	ri, wi int
	ws, we int64
	n      int
	probes []probe
}

func (g *vpcGen) stats() outStats {
	var s outStats
	for _, wk := range g.workers {
		s.files += wk.out.stats.files
		s.bytes += wk.out.stats.bytes
		s.raw += wk.out.stats.raw
	}
	return s
}

type probe struct {
	t     int64
	port  int
	sport int
	open  bool
}

func newVPCGen(w *world, st *story, dir string) (*vpcGen, error) {
	g := &vpcGen{w: w, st: st, plan: newRng(w.seed, streamVPCPlan)}
	for i := 0; i < workers(); i++ {
		out, err := newWriter(dir, w.cfg.Gzip)
		if err != nil {
			return nil, err
		}
		g.workers = append(g.workers, &vpcWorker{g: g, w: w, st: st, out: out, r: newRng(w.seed, streamVPCFile)})
	}
	if st != nil && st.attack {
		r := newRng(w.seed, streamVPCPlan, 7)
		span := st.scanEnd - st.scanStart
		for i, p := range st.ports {
			t := st.scanStart + span*int64(i)/int64(len(st.ports))
			g.probes = append(g.probes, probe{t: t, port: p, sport: r.between(40000, 65000), open: contains(st.target.open, p)})
		}
	}
	return g, nil
}

func contains(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func (g *vpcGen) run(ctx context.Context) error {
	defer func() {
		for _, wk := range g.workers {
			wk.out.abort()
		}
	}()
	w := g.w
	// Windows are aligned to the clock, the first one cut at Start.
	base := w.start - w.start%flowWindow
	nWin := int((w.end - base + flowWindow - 1) / flowWindow)
	total := float64(max(w.cfg.FlowRecords, 0))
	var sumWin, sumAcct float64
	winW := make([]float64, nWin)
	for i := range winW {
		winW[i] = activity(base+int64(i)*flowWindow+flowWindow/2)*0.6 + 0.4
		sumWin += winW[i]
	}
	for _, a := range w.accounts {
		sumAcct += a.flowWeight
	}
	regW := regionWeights(len(w.regions))
	pi := 0
	produce := func(submit func(vpcJob) error) error {
		for wi := 0; wi < nWin; wi++ {
			ws := max(base+int64(wi)*flowWindow, w.start)
			we := min(base+int64(wi+1)*flowWindow, w.end)
			for _, a := range w.accounts {
				for ri := range w.regions {
					exp := total * winW[wi] / sumWin * a.flowWeight / sumAcct * regW[ri]
					exp *= 0.85 + 0.3*g.plan.Float64()
					n := int(exp)
					if g.plan.Float64() < exp-float64(n) {
						n++
					}
					var probes []probe
					if g.st != nil && g.st.attack && a == g.st.acct && ri == w.regionIndex(g.st.region) {
						p0 := pi
						for pi < len(g.probes) && g.probes[pi].t < we-2 {
							pi++
						}
						probes = g.probes[p0:pi]
					}
					if n == 0 && len(probes) == 0 {
						continue
					}
					if err := submit(vpcJob{a: a, ri: ri, wi: wi, ws: ws, we: we, n: n, probes: probes}); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	work := func(i int, j vpcJob) (int, error) { return g.workers[i].file(j) }
	consume := func(n int) error {
		g.records += n
		return nil
	}
	return ordered(ctx, len(g.workers), produce, work, consume)
}

// file writes one flow-log file and returns its record count.
func (g *vpcWorker) file(j vpcJob) (int, error) {
	a, ri, wi, ws, we, n, probes := j.a, j.ri, j.wi, j.ws, j.we, j.n, j.probes
	r := g.r
	r.reseed(g.w.seed, streamVPCFile, uint64(a.idx), uint64(ri), uint64(wi))
	net := a.nets[ri]
	g.n, g.ws, g.we, g.v2 = net, ws, we, a.flowV2
	region := net.region
	b := appendDeliveryKey(g.line[:0], "", a.id, "vpcflowlogs", region, ws)
	b = append(b, net.flowLogID...)
	b = append(b, '_')
	b = appendStamp(b, ws-ws%flowWindow, false)
	b = append(b, '_')
	b = appendHex(b, r, 8)
	b = append(b, ".log.gz"...)
	if err := g.out.create(string(b), false); err != nil {
		return 0, err
	}
	b = b[:0]
	if g.v2 {
		b = append(b, flowFieldsV2...)
	} else {
		b = append(b, flowFieldsV5...)
	}
	b = append(b, '\n')
	written := 0
	// Story probes first: a scanner's SYNs to every port, most rejected.
	for _, p := range probes {
		f := flow{e: g.st.target, src: sa(g.st.scannerIP), dst: sa(g.st.target.ip), sport: p.sport, dport: p.port, proto: 6,
			packets: int64(r.between(1, 2)), start: p.t, end: p.t + r.Int64N(2), flags: 2, action: "REJECT"}
		f.bytes = f.packets * 44
		if p.open {
			f.action = "ACCEPT"
		}
		f.end = max(min(f.end, we-1), ws)
		f.start = max(min(f.start, f.end), ws)
		b = g.append(b, &f)
		written++
		if p.open {
			back := flow{e: g.st.target, src: sa(g.st.target.ip), dst: sa(g.st.scannerIP), sport: p.port, dport: p.sport, proto: 6,
				packets: 1, bytes: 44, start: f.start, end: f.end, flags: 18, action: "ACCEPT", egress: true, path: 8}
			b = g.append(b, &back)
			written++
		}
		if len(b) > 64<<10 {
			if err := g.out.write(b); err != nil {
				return 0, err
			}
			b = b[:0]
		}
	}
	for i := 0; i < n; {
		conv := g.conversation()
		for k := range conv {
			if i >= n {
				break
			}
			b = g.append(b, &conv[k])
			i++
			written++
		}
		if len(b) > 64<<10 {
			if err := g.out.write(b); err != nil {
				return 0, err
			}
			b = b[:0]
		}
	}
	g.line = b
	if err := g.out.write(b); err != nil {
		return 0, err
	}
	if _, _, err := g.out.close(); err != nil {
		return 0, err
	}
	return written, nil
}

// append writes one record as a line.
func (g *vpcWorker) append(b []byte, f *flow) []byte {
	e, n := f.e, g.n
	if g.v2 {
		b = append(b, '2', ' ')
	} else {
		b = append(b, '5', ' ')
	}
	b = append(b, n.acct.id...)
	b = append(b, ' ')
	b = append(b, e.id...)
	b = append(b, ' ')
	nodata := f.status != ""
	if nodata {
		b = append(b, "- - - - - - - "...)
	} else {
		b = f.src.append(b)
		b = append(b, ' ')
		b = f.dst.append(b)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(f.sport), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(f.dport), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(f.proto), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, f.packets, 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, f.bytes, 10)
		b = append(b, ' ')
	}
	b = strconv.AppendInt(b, f.start, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, f.end, 10)
	b = append(b, ' ')
	if nodata {
		b = append(b, "- "...)
		b = append(b, f.status...)
	} else {
		b = append(b, f.action...)
		b = append(b, " OK"...)
	}
	if g.v2 {
		return append(b, '\n')
	}
	b = append(b, ' ')
	b = append(b, n.vpc...)
	b = append(b, ' ')
	b = append(b, e.sub.id...)
	b = append(b, ' ')
	b = append(b, e.instanceID...)
	b = append(b, ' ')
	if nodata {
		b = append(b, "- - - - "...)
	} else {
		if f.flags < 0 {
			b = append(b, '-')
		} else {
			b = strconv.AppendInt(b, int64(f.flags), 10)
		}
		if f.v6 {
			b = append(b, " IPv6 "...)
		} else {
			b = append(b, " IPv4 "...)
		}
		if f.pktSrc == (addr{}) {
			b = f.src.append(b)
		} else {
			b = f.pktSrc.append(b)
		}
		b = append(b, ' ')
		if f.pktDst == (addr{}) {
			b = f.dst.append(b)
		} else {
			b = f.pktDst.append(b)
		}
		b = append(b, ' ')
	}
	b = append(b, n.region...)
	b = append(b, ' ')
	b = append(b, n.azIDs[e.sub.az]...)
	b = append(b, ' ')
	switch {
	case nodata:
		b = append(b, "- -"...)
	case f.egress:
		b = append(b, "egress "...)
		if f.path == 0 {
			b = append(b, '-')
		} else {
			b = strconv.AppendInt(b, int64(f.path), 10)
		}
	default:
		b = append(b, "ingress -"...)
	}
	return append(b, '\n')
}

// times fills start and end: end in the window, the flow lasting up to a
// minute (the Nitro aggregation interval), start not before the window.
func (g *vpcWorker) times(f *flow, long bool) {
	r := g.r
	f.end = g.ws + r.Int64N(g.we-g.ws)
	d := r.Int64N(8)
	if long {
		d = r.Int64N(60)
	}
	f.start = max(f.end-d, g.ws)
}

func ephemeral(r *rng) int { return r.between(32768, 60999) }

func tcpFlags(r *rng, reply bool) int {
	x := r.Float64()
	switch {
	case x < 0.55:
		if reply {
			return 19
		}
		return 3
	case x < 0.8:
		return 0
	case x < 0.92:
		if reply {
			return 18
		}
		return 2
	}
	if reply {
		return 20 // SYN-ACK + RST
	}
	return 6
}

// pair adds a request record and, on the other side or in reverse, its
// reply.
func (g *vpcWorker) pair(req flow, reply bool, replyENI *eni, replyPath int, ratio float64) {
	r := g.r
	g.times(&req, req.flags == 0)
	g.conv = append(g.conv, req)
	if !reply {
		return
	}
	rep := req
	rep.e = replyENI
	rep.src, rep.dst = req.dst, req.src
	rep.pktSrc, rep.pktDst = req.pktDst, req.pktSrc
	rep.sport, rep.dport = req.dport, req.sport
	rep.bytes = int64(float64(req.bytes)*ratio) + int64(r.IntN(200))
	rep.packets = max(1, int64(float64(req.packets)*(0.6+r.Float64())))
	if rep.flags != 0 {
		rep.flags = tcpFlags(r, true)
	}
	rep.egress = replyENI.has(rep.src)
	rep.path = 0
	if rep.egress {
		rep.path = replyPath
	}
	g.conv = append(g.conv, rep)
}

// conversation returns the records of one exchange (one to four records).
func (g *vpcWorker) conversation() []flow {
	g.conv = g.conv[:0]
	r, n := g.r, g.n
	packets := func(lo, hi int64) int64 { return r.logUniform(lo, hi) }
	x := r.Float64()
	switch {
	case x < 0.22: // internet clients to the load balancer
		alb := pick(r, n.albs)
		f := flow{e: alb, src: internetAddr(r), dst: sa(alb.ip), sport: ephemeral(r), dport: 443, proto: 6, action: "ACCEPT", flags: tcpFlags(r, false)}
		if r.Float64() < 0.1 {
			f.dport = 80
		}
		if alb.v6 != "" && r.Float64() < 0.12 {
			f.src, f.dst, f.v6 = sa(internetIPv6(r)), sa(alb.v6), true
		}
		f.packets = packets(3, 400)
		f.bytes = f.packets * int64(r.between(60, 180))
		g.pair(f, true, alb, 8, 6)
	case x < 0.38: // load balancer to the application
		alb, app := pick(r, n.albs), pick(r, n.apps)
		f := flow{e: alb, src: sa(alb.ip), dst: sa(app.ip), sport: ephemeral(r), dport: 8080, proto: 6, action: "ACCEPT", flags: tcpFlags(r, false), egress: true, path: 1}
		f.packets = packets(3, 300)
		f.bytes = f.packets * int64(r.between(80, 400))
		g.pair(f, true, app, 1, 5)
		// The application's side of the same exchange.
		in := g.conv[0]
		in.e, in.egress, in.path = app, false, 0
		g.conv = append(g.conv, in)
	case x < 0.48: // application to database
		app, db := pick(r, n.apps), pick(r, n.dbs)
		port := 5432
		if r.Float64() < 0.3 {
			port = 3306
		}
		f := flow{e: app, src: sa(app.ip), dst: sa(db.ip), sport: ephemeral(r), dport: port, proto: 6, action: "ACCEPT", flags: 0, egress: true, path: 1}
		if r.Float64() < 0.3 {
			f.flags = tcpFlags(r, false)
		}
		f.packets = packets(2, 2000)
		f.bytes = f.packets * int64(r.between(70, 900))
		in := f
		in.e, in.egress, in.path = db, false, 0
		g.pair(f, false, nil, 0, 0)
		in.start, in.end = g.conv[len(g.conv)-1].start, g.conv[len(g.conv)-1].end
		g.conv = append(g.conv, in)
	case x < 0.58: // application to the internet through the NAT gateway
		app := pick(r, n.apps)
		dst := internetAddr(r)
		f := flow{e: app, src: sa(app.ip), dst: dst, sport: ephemeral(r), dport: 443, proto: 6, action: "ACCEPT", flags: tcpFlags(r, false), egress: true, path: 1}
		f.packets = packets(4, 900)
		f.bytes = f.packets * int64(r.between(80, 1200))
		g.pair(f, false, nil, 0, 0)
		nat := flow{e: n.nat, src: sa(app.ip), dst: sa(n.nat.ip), pktDst: dst, sport: f.sport, dport: 443, proto: 6, action: "ACCEPT", flags: f.flags,
			packets: f.packets, bytes: f.bytes, start: g.conv[0].start, end: g.conv[0].end}
		g.conv = append(g.conv, nat)
	case x < 0.64: // DNS forwarding to the on-premises resolvers
		f := flow{e: n.resolver, src: sa(n.resolver.ip), dst: sa("10.200.0." + strconv.Itoa(10+r.IntN(2))), sport: ephemeral(r), dport: 53, proto: 17, action: "ACCEPT", flags: 0, egress: true, path: 3}
		f.packets = packets(1, 40)
		f.bytes = f.packets * int64(r.between(60, 120))
		g.pair(f, true, n.resolver, 0, 2)
	case x < 0.76: // internet background noise against public addresses
		e := pick(r, n.public)
		port := pick(r, []int{23, 445, 3389, 22, 8080, 5900, 1433, 6379, 2375, 8443, 9200, 5060})
		if r.Float64() < 0.3 {
			port = r.between(1, 65535)
		}
		f := flow{e: e, src: internetAddr(r), dst: sa(e.ip), sport: ephemeral(r), dport: port, proto: 6, action: "REJECT", flags: 2, packets: 1, bytes: 40}
		if r.Float64() < 0.3 {
			f.bytes = 44
		}
		if contains(e.open, port) {
			f.action = "ACCEPT"
			f.flags = pick(r, []int{2, 6})
			f.packets = int64(r.between(1, 3))
			f.bytes = f.packets * 52
		}
		if r.Float64() < 0.15 {
			f.proto, f.sport, f.dport = 17, ephemeral(r), pick(r, []int{53, 123, 161, 1900, 5353})
			f.flags, f.bytes = 0, int64(r.between(40, 120))
		}
		g.pair(f, false, nil, 0, 0)
	case x < 0.78: // administrators on the bastion
		b := n.bastion
		f := flow{e: b, src: sa(pick(r, corpIPs)), dst: sa(b.ip), sport: ephemeral(r), dport: 22, proto: 6, action: "ACCEPT", flags: tcpFlags(r, false)}
		f.packets = packets(20, 4000)
		f.bytes = f.packets * int64(r.between(60, 200))
		g.pair(f, true, b, 8, 3)
	case x < 0.80: // ICMP
		e := pick(r, n.public)
		f := flow{e: e, src: internetAddr(r), dst: sa(e.ip), proto: 1, action: "REJECT", flags: 0, packets: int64(r.between(1, 4))}
		f.bytes = f.packets * 84
		if e.role == "alb" {
			f.action = "ACCEPT"
		}
		g.pair(f, false, nil, 0, 0)
	case x < 0.86: // application to S3 through the gateway endpoint
		app := pick(r, n.apps)
		f := flow{e: app, src: sa(app.ip), dst: s3Addr(r, n.region), sport: ephemeral(r), dport: 443, proto: 6, action: "ACCEPT", flags: tcpFlags(r, false), egress: true, path: 7}
		f.packets = packets(5, 20000)
		f.bytes = f.packets * int64(r.between(200, 1400))
		g.pair(f, true, app, 0, 0.05)
	case x < 0.93: // service to service inside the VPC
		a, b := pick(r, n.apps), pick(r, n.apps)
		f := flow{e: a, src: sa(a.ip), dst: sa(b.ip), sport: ephemeral(r), dport: pick(r, []int{8443, 9090, 6379, 8080}), proto: 6, action: "ACCEPT", flags: tcpFlags(r, false), egress: true, path: 1}
		f.packets = packets(2, 500)
		f.bytes = f.packets * int64(r.between(70, 700))
		g.pair(f, false, nil, 0, 0)
		in := g.conv[0]
		in.e, in.egress, in.path = b, false, 0
		g.conv = append(g.conv, in)
	case x < 0.95: // Lambda functions in the VPC calling out
		l := pick(r, n.lambdas)
		f := flow{e: l, src: sa(l.ip), dst: sa(awsIP(r, n.region)), sport: ephemeral(r), dport: 443, proto: 6, action: "ACCEPT", flags: tcpFlags(r, false), egress: true, path: 1}
		f.packets = packets(4, 200)
		f.bytes = f.packets * int64(r.between(90, 900))
		g.pair(f, true, l, 0, 3)
	case x < 0.98: // instances to the SSM interface endpoint
		app, ep := pick(r, n.apps), n.endpoints[0]
		f := flow{e: ep, src: sa(app.ip), dst: sa(ep.ip), sport: ephemeral(r), dport: 443, proto: 6, action: "ACCEPT", flags: tcpFlags(r, false)}
		f.packets = packets(3, 60)
		f.bytes = f.packets * int64(r.between(90, 500))
		g.pair(f, true, ep, 1, 2)
	case x < 0.99: // denied inside the VPC (security groups)
		app, db := pick(r, n.apps), pick(r, n.dbs)
		f := flow{e: db, src: sa(app.ip), dst: sa(db.ip), sport: ephemeral(r), dport: pick(r, []int{22, 3389, 6379, 9200}), proto: 6, action: "REJECT", flags: 2, packets: int64(r.between(1, 3))}
		f.bytes = f.packets * 60
		g.pair(f, false, nil, 0, 0)
	case x < 0.998: // an idle interface
		e := pick(r, n.all)
		f := flow{e: e, status: "NODATA", start: g.ws, end: g.we - 1}
		g.conv = append(g.conv, f)
	default: // records skipped by AWS
		e := pick(r, n.all)
		f := flow{e: e, status: "SKIPDATA", start: g.ws, end: g.we - 1}
		g.conv = append(g.conv, f)
	}
	return g.conv
}

// flowHeader returns the header line of the default (v2) or the custom
// (v5) format.
func flowHeader(v2 bool) string {
	if v2 {
		return flowFieldsV2
	}
	return flowFieldsV5
}

// has reports whether a is one of the interface's addresses.
func (e *eni) has(a addr) bool { return a.s != "" && (a.s == e.ip || a.s == e.v6) }
