package gen

import (
	"strconv"
)

// Writers of the large requestParameters benchmarks need: bucket policies,
// IAM policy documents, RunInstances launch specifications, ECS task
// definitions and Glue partitions, 5–40 KB each. Each grows its content
// until it reaches a size drawn for the event.

func (c *ctx) largeTarget() int { return int(c.r.logUniform(5_000, 40_000)) }

var s3Actions = []string{"s3:GetObject", "s3:PutObject", "s3:GetObjectVersion", "s3:DeleteObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:PutObjectAcl", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:GetObjectTagging", "s3:PutObjectTagging"}

var iamActions = []string{
	"s3:GetObject", "s3:PutObject", "s3:ListBucket", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey",
	"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem",
	"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sns:Publish", "logs:CreateLogStream",
	"logs:PutLogEvents", "ssm:GetParameter", "ssm:GetParametersByPath", "secretsmanager:GetSecretValue",
	"ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability", "cloudwatch:PutMetricData",
	"xray:PutTraceSegments", "events:PutEvents", "states:StartExecution", "lambda:InvokeFunction",
}

func paramsPutBucketPolicy(c *ctx) {
	w, r := c.w, c.r
	start := len(w.b)
	target := c.largeTarget()
	w.Obj()
	w.KObj("bucketPolicy")
	w.KS("Version", "2012-10-17")
	w.KS("Id", "Policy"+strconv.FormatInt(c.e.t*1000+int64(r.IntN(1000)), 10))
	w.KArr("Statement")
	for i := 0; len(w.b)-start < target; i++ {
		w.Obj()
		w.KS("Sid", "Allow"+pick(r, []string{"Read", "Write", "List", "Replication", "Analytics", "Partner"})+strconv.Itoa(i))
		w.KS("Effect", "Allow")
		w.KObj("Principal")
		w.KArr("AWS")
		for n := r.between(1, 6); n > 0; n-- {
			a := pick(r, c.g.w.accounts)
			w.S("arn:aws:iam::" + a.id + ":role/" + pick(r, []string{"ec2-app-role", "SecurityAuditRole", "data-pipeline", "analytics-reader", "replication-role"}))
		}
		w.EndArr()
		w.EndObj()
		w.KArr("Action")
		for n := r.between(1, 5); n > 0; n-- {
			w.S(pick(r, s3Actions))
		}
		w.EndArr()
		w.KArr("Resource")
		w.S("arn:aws:s3:::" + c.bucket)
		for n := r.between(1, 4); n > 0; n-- {
			w.S("arn:aws:s3:::" + c.bucket + "/" + pick(r, []string{"exports", "raw", "curated", "tmp", "partners", "reports"}) + "/" + hexStr(r, 6) + "/*")
		}
		w.EndArr()
		w.KObj("Condition")
		w.KObj("StringEquals")
		w.KS("aws:PrincipalOrgID", c.g.cfg.OrgID)
		w.EndObj()
		if r.Float64() < 0.5 {
			w.KObj("Bool")
			w.KS("aws:SecureTransport", "true")
			w.EndObj()
		}
		w.EndObj()
		w.EndObj()
	}
	w.EndArr()
	w.EndObj()
	w.KS("bucketName", c.bucket)
	c.writeS3Host()
	w.KS("policy", "")
	w.EndObj()
	c.size = int64(len(w.b) - start)
}

// policyDocument builds a pretty-printed IAM policy document of about
// target bytes into c.extraBuf, as tools send them.
func (c *ctx) policyDocument(target int) []byte {
	r := c.r
	b := append(c.extraBuf[:0], "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": ["...)
	for i := 0; len(b) < target; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    {\n      \"Sid\": \"Stmt"...)
		b = strconv.AppendInt(b, int64(i+1), 10)
		b = append(b, "\",\n      \"Effect\": \"Allow\",\n      \"Action\": ["...)
		for n := r.between(1, 6); n > 0; n-- {
			b = append(b, "\n        \""...)
			b = append(b, pick(r, iamActions)...)
			b = append(b, '"')
			if n > 1 {
				b = append(b, ',')
			}
		}
		b = append(b, "\n      ],\n      \"Resource\": ["...)
		for n := r.between(1, 4); n > 0; n-- {
			b = append(b, "\n        \"arn:aws:"...)
			switch r.IntN(4) {
			case 0:
				b = append(b, "s3:::"...)
				b = append(b, pick(r, c.a.buckets).base...)
				b = append(b, "-*/*"...)
			case 1:
				b = append(b, "dynamodb:"...)
				b = append(b, c.e.region...)
				b = append(b, ':')
				b = append(b, c.a.id...)
				b = append(b, ":table/"...)
				b = append(b, pick(r, c.a.tables)...)
			case 2:
				b = append(b, "sqs:"...)
				b = append(b, c.e.region...)
				b = append(b, ':')
				b = append(b, c.a.id...)
				b = append(b, ':')
				b = append(b, pick(r, c.a.lambdas)...)
				b = append(b, "-queue"...)
			default:
				b = append(b, "kms:*:"...)
				b = append(b, c.a.id...)
				b = append(b, ":key/"...)
				b = appendUUID(b, r)
			}
			b = append(b, '"')
			if n > 1 {
				b = append(b, ',')
			}
		}
		b = append(b, "\n      ]"...)
		if r.Float64() < 0.3 {
			b = append(b, ",\n      \"Condition\": {\n        \"StringEquals\": {\n          \"aws:RequestedRegion\": \""...)
			b = append(b, c.e.region...)
			b = append(b, "\"\n        }\n      }"...)
		}
		b = append(b, "\n    }"...)
	}
	b = append(b, "\n  ]\n}"...)
	c.extraBuf = b
	return b
}

func paramsCreatePolicyVersion(c *ctx) {
	w := c.w
	c.fn = pick(c.r, []string{"app-runtime", "data-pipeline", "ci-deploy", "analytics-reader"}) + "-policy"
	w.Obj()
	w.KS("policyArn", "arn:aws:iam::"+c.a.id+":policy/"+c.fn)
	w.K("policyDocument")
	w.SB(c.policyDocument(c.largeTarget()))
	w.KB("setAsDefault", true)
	w.EndObj()
}

func respCreatePolicyVersion(c *ctx) {
	w := c.w
	w.Obj()
	w.KObj("policyVersion")
	w.KS("versionId", "v"+strconv.Itoa(c.r.between(2, 40)))
	w.KB("isDefaultVersion", true)
	w.KS("createDate", iamDate(c.e.t))
	w.EndObj()
	w.EndObj()
}

func paramsPutRolePolicy(c *ctx) {
	w, r := c.w, c.r
	role := "ec2-app-role"
	if ps := c.a.princ[kLambda]; len(ps) > 0 && r.Float64() < 0.6 {
		role = pick(r, ps).name
	}
	w.Obj()
	w.KS("roleName", role)
	w.KS("policyName", pick(r, []string{"inline-runtime", "data-access", "queue-access", "kms-access"}))
	w.K("policyDocument")
	w.SB(c.policyDocument(c.largeTarget()))
	w.EndObj()
}

var instanceTypes = []string{"m7i.large", "m7i.xlarge", "c7g.2xlarge", "r7i.large", "t3.medium", "m6a.xlarge"}

func paramsRunInstances(c *ctx) {
	w, r := c.w, c.r
	target := c.largeTarget()
	// The response echoes every instance (about 2.5 KB each); launch enough
	// of them to reach the target together with the request.
	count := max(1, target/3000)
	c.size = int64(count)
	c.fn = pick(r, instanceTypes)
	ami := "ami-" + hexStr(r, 17)
	c.roleID = ami
	w.Obj()
	w.KObj("instancesSet")
	w.KArr("items")
	w.Obj()
	w.KS("imageId", ami)
	w.KI("minCount", int64(count))
	w.KI("maxCount", int64(count))
	w.EndObj()
	w.EndArr()
	w.EndObj()
	w.KS("userData", "<sensitiveDataRemoved>")
	w.KS("instanceType", c.fn)
	w.KObj("blockDeviceMapping")
	w.KArr("items")
	w.Obj()
	w.KS("deviceName", "/dev/xvda")
	w.KObj("ebs")
	w.KI("volumeSize", int64(pick(r, []int{20, 30, 50, 100})))
	w.KB("deleteOnTermination", true)
	w.KS("volumeType", "gp3")
	w.KB("encrypted", true)
	w.EndObj()
	w.EndObj()
	w.EndArr()
	w.EndObj()
	w.KObj("monitoring")
	w.KB("enabled", true)
	w.EndObj()
	w.KB("disableApiTermination", false)
	w.KB("disableApiStop", false)
	w.K("clientToken")
	w.Open()
	w.b = appendUUID(w.b, r)
	w.Close()
	w.KObj("networkInterfaceSet")
	w.KArr("items")
	w.Obj()
	w.KI("deviceIndex", 0)
	if c.n != nil {
		w.KS("subnetId", c.n.subnets[1+3*r.IntN(3)].id)
		w.KObj("groupSet")
		w.KArr("items")
		w.Obj()
		w.KS("groupId", c.n.sgs[0])
		w.EndObj()
		w.EndArr()
		w.EndObj()
	}
	w.EndObj()
	w.EndArr()
	w.EndObj()
	w.KObj("iamInstanceProfile")
	w.KS("arn", "arn:aws:iam::"+c.a.id+":instance-profile/ec2-app-role")
	w.EndObj()
	w.KObj("tagSpecificationSet")
	w.KArr("items")
	for _, rt := range []string{"instance", "volume", "network-interface"} {
		w.Obj()
		w.KS("resourceType", rt)
		w.KTags("tags", [][2]string{
			{"Name", c.a.name + "-app"}, {"Environment", c.a.name}, {"Owner", "team-platform"},
			{"CostCenter", "1042"}, {"aws:autoscaling:groupName", c.a.name + "-app-asg"},
			{"ManagedBy", "terraform"}, {"Repository", company + "/platform"}, {"Service", "checkout"},
		})
		w.EndObj()
	}
	w.EndArr()
	w.EndObj()
	w.KObj("metadataOptions")
	w.KS("httpTokens", "required")
	w.KI("httpPutResponseHopLimit", 2)
	w.KS("httpEndpoint", "enabled")
	w.EndObj()
	w.EndObj()
}

func respRunInstances(c *ctx) {
	w, r, e := c.w, c.r, c.e
	w.Obj()
	w.KSRaw("requestId", c.reqID)
	w.KS2("reservationId", "r-", hexStr(r, 17))
	w.KS("ownerId", c.a.id)
	w.KObj("groupSet")
	w.EndObj()
	w.KObj("instancesSet")
	w.KArr("items")
	for i := int64(0); i < c.size; i++ {
		ip := "10.0.10." + strconv.Itoa(r.between(4, 250))
		sub := "subnet-" + hexStr(r, 17)
		vpc := "vpc-" + hexStr(r, 17)
		sg := "sg-" + hexStr(r, 17)
		if c.n != nil {
			s := c.n.subnets[1+3*r.IntN(3)]
			ip = "10." + strconv.Itoa(c.n.o2) + "." + strconv.Itoa(s.o3) + "." + strconv.Itoa(r.between(4, 250))
			sub, vpc, sg = s.id, c.n.vpc, c.n.sgs[0]
		}
		dns := "ip-" + dashed(ip) + "." + e.region + ".compute.internal"
		w.Obj()
		w.KS2("instanceId", "i-", hexStr(r, 17))
		w.KS("imageId", c.roleID)
		w.KRaw("currentInstanceBootMode", `"uefi"`)
		w.KRaw("instanceState", `{"code":0,"name":"pending"}`)
		w.KS("privateDnsName", dns)
		w.KI("amiLaunchIndex", i)
		w.KRaw("productCodes", `{}`)
		w.KS("instanceType", c.fn)
		w.KI("launchTime", e.t*1000)
		w.KObj("placement")
		w.KS("availabilityZone", e.region+"a")
		w.KS("tenancy", "default")
		w.EndObj()
		w.KRaw("monitoring", `{"state":"pending"}`)
		w.KS("subnetId", sub)
		w.KS("vpcId", vpc)
		w.KS("privateIpAddress", ip)
		w.KRaw("stateReason", `{"code":"pending","message":"pending"}`)
		w.KS("architecture", "x86_64")
		w.KS("rootDeviceType", "ebs")
		w.KS("rootDeviceName", "/dev/xvda")
		w.KRaw("blockDeviceMapping", `{}`)
		w.KS("virtualizationType", "hvm")
		w.KS("hypervisor", "xen")
		w.KS("clientToken", uuidStr(r))
		w.KObj("groupSet")
		w.KArr("items")
		w.Obj()
		w.KS("groupId", sg)
		w.KS("groupName", c.a.name+"-app")
		w.EndObj()
		w.EndArr()
		w.EndObj()
		w.KB("sourceDestCheck", true)
		w.KObj("networkInterfaceSet")
		w.KArr("items")
		w.Obj()
		w.KS2("networkInterfaceId", "eni-", hexStr(r, 17))
		w.KS("subnetId", sub)
		w.KS("vpcId", vpc)
		w.KS("ownerId", c.a.id)
		w.KS("status", "in-use")
		w.K("macAddress")
		w.Open()
		for k := 0; k < 6; k++ {
			if k > 0 {
				w.b = append(w.b, ':')
			}
			w.b = appendHex(w.b, r, 2)
		}
		w.Close()
		w.KS("privateIpAddress", ip)
		w.KS("privateDnsName", dns)
		w.KB("sourceDestCheck", true)
		w.KObj("attachment")
		w.KS2("attachmentId", "eni-attach-", hexStr(r, 17))
		w.KI("deviceIndex", 0)
		w.KI("networkCardIndex", 0)
		w.KS("status", "attaching")
		w.KI("attachTime", e.t*1000)
		w.KB("deleteOnTermination", true)
		w.EndObj()
		w.KS("interfaceType", "interface")
		w.EndObj()
		w.EndArr()
		w.EndObj()
		w.KB("ebsOptimized", true)
		w.KB("enaSupport", true)
		w.KRaw("cpuOptions", `{"coreCount":1,"threadsPerCore":2}`)
		w.KRaw("capacityReservationSpecification", `{"capacityReservationPreference":"open"}`)
		w.KRaw("enclaveOptions", `{"enabled":false}`)
		w.KRaw("metadataOptions", `{"state":"pending","httpTokens":"required","httpPutResponseHopLimit":2,"httpEndpoint":"enabled","httpProtocolIpv4":"enabled","httpProtocolIpv6":"disabled","instanceMetadataTags":"disabled"}`)
		w.KRaw("maintenanceOptions", `{"autoRecovery":"default"}`)
		w.KRaw("privateDnsNameOptions", `{"hostnameType":"ip-name","enableResourceNameDnsARecord":false,"enableResourceNameDnsAAAARecord":false}`)
		w.EndObj()
	}
	w.EndArr()
	w.EndObj()
	w.EndObj()
}

func dashed(ip string) string {
	b := []byte(ip)
	for i, ch := range b {
		if ch == '.' {
			b[i] = '-'
		}
	}
	return string(b)
}

var envNames = []string{"LOG_LEVEL", "FEATURE_FLAGS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT", "DB_POOL_SIZE", "CACHE_TTL_SECONDS",
	"PAYMENTS_API_BASE", "CATALOG_API_BASE", "SQS_QUEUE_URL", "S3_EXPORT_BUCKET", "REGION", "SERVICE_NAME", "JAVA_TOOL_OPTIONS",
	"SPRING_PROFILES_ACTIVE", "HTTP_TIMEOUT_MS", "RETRY_MAX_ATTEMPTS", "CIRCUIT_BREAKER_THRESHOLD", "SENTRY_ENVIRONMENT"}

func paramsRegisterTaskDefinition(c *ctx) {
	w, r, e := c.w, c.r, c.e
	start := len(w.b)
	target := c.largeTarget()
	svc := "checkout-api"
	if len(c.a.ecs) > 0 {
		svc = pick(r, c.a.ecs)
	}
	c.fn = svc
	w.Obj()
	w.KS("family", svc)
	w.KS("taskRoleArn", "arn:aws:iam::"+c.a.id+":role/"+svc+"-task-role")
	w.KS("executionRoleArn", "arn:aws:iam::"+c.a.id+":role/ecsTaskExecutionRole")
	w.KS("networkMode", "awsvpc")
	w.KArr("containerDefinitions")
	for i := 0; i == 0 || len(w.b)-start < target; i++ {
		name := svc
		if i > 0 {
			name = pick(r, []string{"envoy", "datadog-agent", "log-router", "otel-collector", "migrations"}) + "-" + strconv.Itoa(i)
		}
		w.Obj()
		w.KS("name", name)
		w.K("image")
		w.Open()
		w.b = append(w.b, c.a.id...)
		w.b = append(w.b, ".dkr.ecr."...)
		w.b = append(w.b, e.region...)
		w.b = append(w.b, ".amazonaws.com/"...)
		w.b = append(w.b, name...)
		w.b = append(w.b, ':')
		w.b = appendHex(w.b, r, 12)
		w.Close()
		w.KI("cpu", int64(pick(r, []int{256, 512, 1024})))
		w.KI("memory", int64(pick(r, []int{512, 1024, 2048})))
		w.KArr("portMappings")
		w.Obj()
		w.KI("containerPort", 8080)
		w.KI("hostPort", 8080)
		w.KS("protocol", "tcp")
		w.EndObj()
		w.EndArr()
		w.KB("essential", i == 0)
		w.KArr("environment")
		for k := 0; k < 40 && len(w.b)-start < target; k++ {
			w.Obj()
			w.KS("name", envNames[k%len(envNames)]+suffix(k/len(envNames)))
			w.K("value")
			w.Open()
			switch k % 4 {
			case 0:
				w.b = append(w.b, "https://"...)
				w.b = append(w.b, pick(r, []string{"flags", "payments", "catalog", "otel"})...)
				w.b = append(w.b, '.')
				w.b = append(w.b, c.a.name...)
				w.b = append(w.b, ".internal."...)
				w.b = append(w.b, company...)
				w.b = append(w.b, ".example:443/v1"...)
			case 1:
				w.b = strconv.AppendInt(w.b, int64(r.between(1, 5000)), 10)
			case 2:
				w.b = appendChars(w.b, r, mixedAlnum, r.between(8, 60))
			default:
				w.b = append(w.b, "-XX:+UseG1GC -XX:MaxRAMPercentage=75 -Dotel.service.name="...)
				w.b = append(w.b, name...)
			}
			w.Close()
			w.EndObj()
		}
		w.EndArr()
		w.KArr("secrets")
		for _, s := range c.a.secrets {
			w.Obj()
			w.KS("name", "SECRET_"+strconv.Itoa(int(strHash(s)%1000)))
			w.K("valueFrom")
			w.Open()
			c.appendSecretARN(s)
			w.Close()
			w.EndObj()
		}
		w.EndArr()
		w.KObj("logConfiguration")
		w.KS("logDriver", "awslogs")
		w.KObj("options")
		w.KS("awslogs-group", "/ecs/"+svc)
		w.KS("awslogs-region", e.region)
		w.KS("awslogs-stream-prefix", name)
		w.EndObj()
		w.EndObj()
		w.KObj("healthCheck")
		w.KRaw("command", `["CMD-SHELL","curl -fsS http://localhost:8080/health || exit 1"]`)
		w.KI("interval", 30)
		w.KI("timeout", 5)
		w.KI("retries", 3)
		w.EndObj()
		w.EndObj()
	}
	w.EndArr()
	w.KRaw("requiresCompatibilities", `["FARGATE"]`)
	w.KS("cpu", "1024")
	w.KS("memory", "2048")
	w.KRaw("runtimePlatform", `{"cpuArchitecture":"ARM64","operatingSystemFamily":"LINUX"}`)
	w.EndObj()
}

func suffix(n int) string {
	if n == 0 {
		return ""
	}
	return "_" + strconv.Itoa(n)
}

func respRegisterTaskDefinition(c *ctx) {
	w := c.w
	rev := c.r.between(10, 400)
	w.Obj()
	w.KObj("taskDefinition")
	w.KS("taskDefinitionArn", "arn:aws:ecs:"+c.e.region+":"+c.a.id+":task-definition/"+c.fn+":"+strconv.Itoa(rev))
	w.KS("family", c.fn)
	w.KI("revision", int64(rev))
	w.KS("status", "ACTIVE")
	w.KS("networkMode", "awsvpc")
	w.KRaw("requiresCompatibilities", `["FARGATE"]`)
	w.KS("cpu", "1024")
	w.KS("memory", "2048")
	w.KS("registeredAt", stsDate(c.e.t))
	w.KS("registeredBy", c.callerARN())
	w.EndObj()
	w.EndObj()
}

var lakeColumns = [][2]string{
	{"event_id", "string"}, {"event_time", "timestamp"}, {"user_id", "bigint"}, {"session_id", "string"},
	{"event_type", "string"}, {"page", "string"}, {"referrer", "string"}, {"country", "string"},
	{"device", "string"}, {"app_version", "string"}, {"amount", "decimal(12,2)"}, {"currency", "string"},
	{"order_id", "string"}, {"sku", "string"}, {"quantity", "int"}, {"properties", "map<string,string>"},
	{"experiment", "array<string>"}, {"ingested_at", "timestamp"},
}

func paramsBatchCreatePartition(c *ctx) {
	w, r, e := c.w, c.r, c.e
	start := len(w.b)
	target := c.largeTarget()
	bucket := c.a.buckets[0].base + "-" + e.region
	w.Obj()
	w.KS("catalogId", c.a.id)
	w.KS("databaseName", "lake_raw")
	w.KS("tableName", "events")
	w.KArr("partitionInputList")
	day := e.t - e.t%86400
	for h := 0; len(w.b)-start < target; h++ {
		hour := (int(e.t%86400/3600) - h%24 + 24) % 24
		dt := day - int64(h/24)*86400
		w.Obj()
		w.KArr("values")
		w.Open()
		w.b = appendDate(w.b, dt, '-')
		w.Close()
		w.S(strconv.Itoa(hour))
		w.EndArr()
		w.KObj("storageDescriptor")
		w.KArr("columns")
		for _, col := range lakeColumns {
			w.Obj()
			w.KS("name", col[0])
			w.KS("type", col[1])
			w.EndObj()
		}
		w.EndArr()
		w.K("location")
		w.Open()
		w.b = append(w.b, "s3://"...)
		w.b = append(w.b, bucket...)
		w.b = append(w.b, "/raw/events/dt="...)
		w.b = appendDate(w.b, dt, '-')
		w.b = append(w.b, "/hour="...)
		w.b = append2(w.b, hour)
		w.b = append(w.b, '/')
		w.Close()
		w.KS("inputFormat", "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat")
		w.KS("outputFormat", "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat")
		w.KB("compressed", false)
		w.KI("numberOfBuckets", -1)
		w.KObj("serdeInfo")
		w.KS("serializationLibrary", "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe")
		w.KRaw("parameters", `{"serialization.format":"1"}`)
		w.EndObj()
		w.KRaw("parameters", `{}`)
		w.KB("storedAsSubDirectories", false)
		w.EndObj()
		w.KObj("parameters")
		w.KS("numRows", strconv.Itoa(r.between(10_000, 9_000_000)))
		w.EndObj()
		w.EndObj()
	}
	w.EndArr()
	w.EndObj()
}
