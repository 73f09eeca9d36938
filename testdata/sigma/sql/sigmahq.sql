-- rule: AWS Bedrock Guardrail Deleted (59b70e4d-dd17-44a9-b740-acf07ae3eb6a)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventName") = 'deleteguardrail')) AND ((lower(t."eventSource") = 'bedrock.amazonaws.com')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS Bedrock Guardrail Updated (1c722651-254a-4b04-a9f4-99b62a2d0a1f)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventName") = 'updateguardrail')) AND ((lower(t."eventSource") = 'bedrock.amazonaws.com')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS Bucket Deleted (39c9f26d-6e3b-4dbb-9c7a-4154b0281112)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventName") = 'deletebucket')) AND (((lower(t."errorCode") = 'success')) OR ((t."errorCode" IS NULL))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS ConsoleLogin Failed Authentication (6393e346-1977-46ef-8987-ad414a145fad)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventName") = 'consolelogin')) AND ((lower(t."errorMessage") = 'failed authentication')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS Successful Console Login Without MFA (77caf516-34e5-4df9-b4db-20744fea0a60)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventName") = 'consolelogin')) AND ((coalesce((len(list_filter(list_filter(flatten([[json_extract(t."additionalEventData", '$."MFAUsed"')], json_extract(t."additionalEventData", '$[*]."MFAUsed"'), json_extract(t."additionalEventData", '$."MFAUsed"[*]'), json_extract(t."additionalEventData", '$[*]."MFAUsed"[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v2: json_type(v2) <> 'OBJECT' AND (lower(json_extract_string(v2, '$')) = 'no'))) > 0), false) OR coalesce((len(list_filter(flatten(list_transform(list_filter(list_filter(flatten([[json_extract(t."additionalEventData", '$."MFAUsed"')], json_extract(t."additionalEventData", '$[*]."MFAUsed"'), json_extract(t."additionalEventData", '$."MFAUsed"[*]'), json_extract(t."additionalEventData", '$[*]."MFAUsed"[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v3: json_type(v3) = 'OBJECT'), lambda v3: CAST(json_extract(v3, '$..*') AS JSON[]))), lambda v4: json_type(v4) NOT IN ('OBJECT', 'ARRAY', 'NULL') AND coalesce((lower(json_extract_string(v4, '$')) = 'no'), false))) > 0), false))) AND ((coalesce((len(list_filter(list_filter(flatten([[json_extract(t."responseElements", '$."ConsoleLogin"')], json_extract(t."responseElements", '$[*]."ConsoleLogin"'), json_extract(t."responseElements", '$."ConsoleLogin"[*]'), json_extract(t."responseElements", '$[*]."ConsoleLogin"[*]')]), lambda v5: json_type(v5) NOT IN ('ARRAY', 'NULL')), lambda v6: json_type(v6) <> 'OBJECT' AND (lower(json_extract_string(v6, '$')) = 'success'))) > 0), false) OR coalesce((len(list_filter(flatten(list_transform(list_filter(list_filter(flatten([[json_extract(t."responseElements", '$."ConsoleLogin"')], json_extract(t."responseElements", '$[*]."ConsoleLogin"'), json_extract(t."responseElements", '$."ConsoleLogin"[*]'), json_extract(t."responseElements", '$[*]."ConsoleLogin"[*]')]), lambda v5: json_type(v5) NOT IN ('ARRAY', 'NULL')), lambda v7: json_type(v7) = 'OBJECT'), lambda v7: CAST(json_extract(v7, '$..*') AS JSON[]))), lambda v8: json_type(v8) NOT IN ('OBJECT', 'ARRAY', 'NULL') AND coalesce((lower(json_extract_string(v8, '$')) = 'success'), false))) > 0), false))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS CloudTrail Important Change (4db60cc0-36fb-42b7-9b58-a5b53019fb74)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'cloudtrail.amazonaws.com')) AND (((lower(t."eventName") = 'stoplogging') OR (lower(t."eventName") = 'updatetrail') OR (lower(t."eventName") = 'deletetrail'))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS GuardDuty Detector Deleted Or Updated (d2656e78-c069-4571-8220-9e0ab5913f19)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'guardduty.amazonaws.com')) AND (((lower(t."eventName") = 'deletedetector')) OR (((lower(t."eventName") = 'updatedetector')) AND ((coalesce((len(list_filter(list_filter(flatten([[json_extract(t."requestParameters", '$."enable"')], json_extract(t."requestParameters", '$[*]."enable"'), json_extract(t."requestParameters", '$."enable"[*]'), json_extract(t."requestParameters", '$[*]."enable"[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v2: json_type(v2) <> 'OBJECT' AND (lower(json_extract_string(v2, '$')) = 'false'))) > 0), false) OR coalesce((len(list_filter(flatten(list_transform(list_filter(list_filter(flatten([[json_extract(t."requestParameters", '$."enable"')], json_extract(t."requestParameters", '$[*]."enable"'), json_extract(t."requestParameters", '$."enable"[*]'), json_extract(t."requestParameters", '$[*]."enable"[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v3: json_type(v3) = 'OBJECT'), lambda v3: CAST(json_extract(v3, '$..*') AS JSON[]))), lambda v4: json_type(v4) NOT IN ('OBJECT', 'ARRAY', 'NULL') AND coalesce((lower(json_extract_string(v4, '$')) = 'false'), false))) > 0), false))))) AND (((lower(t."errorCode") = 'success')) OR ((t."errorCode" IS NULL))))
ORDER BY t."eventTime", t."eventID";

-- rule: Malicious Usage Of IMDS Credentials Outside Of AWS Infrastructure (352a918a-34d8-4882-8470-44830c507aa3)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE ((regexp_matches(t."userIdentity"."arn", '.+:assumed-role/aws:.+')) AND (NOT (coalesce((lower(t."eventSource") = 'ssm.amazonaws.com'), false) OR coalesce((lower(t."eventName") = 'registermanagedinstance'), false) OR coalesce((lower(t."sourceIPAddress") = 'aws internal'), false))))
ORDER BY t."eventTime", t."eventID";

-- rule: New Network ACL Entry Added (e1f7febb-7b94-4234-b5c6-00fb8500f5dd)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'ec2.amazonaws.com')) AND ((lower(t."eventName") = 'createnetworkaclentry')))
ORDER BY t."eventTime", t."eventID";

-- rule: New Network Route Added (c803b2ce-c4a2-4836-beae-b112010390b1)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'ec2.amazonaws.com')) AND ((lower(t."eventName") = 'createroute')))
ORDER BY t."eventTime", t."eventID";

-- rule: PUA - AWS TruffleHog Execution (a840e606-7c8c-4684-9bc1-eb6b6155127f)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE ((lower(t."userAgent") = 'trufflehog'))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS EnableRegion Command Monitoring (a5ffb6ea-c784-4e01-b30a-deb6e58ca2ab)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventName") = 'enableregion')) AND ((lower(t."eventSource") = 'account.amazonaws.com')))
ORDER BY t."eventTime", t."eventID";

-- rule: Ingress/Egress Security Group Modification (6fb77778-040f-4015-9440-572aa9b6b580)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'ec2.amazonaws.com')) AND (((lower(t."eventName") = 'authorizesecuritygroupegress') OR (lower(t."eventName") = 'authorizesecuritygroupingress') OR (lower(t."eventName") = 'revokesecuritygroupegress') OR (lower(t."eventName") = 'revokesecuritygroupingress'))))
ORDER BY t."eventTime", t."eventID";

-- rule: LoadBalancer Security Group Modification (7a4409fc-f8ca-45f6-8006-127d779eaad9)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'elasticloadbalancing.amazonaws.com')) AND (((lower(t."eventName") = 'applysecuritygroupstoloadbalancer') OR (lower(t."eventName") = 'setsecuritygroups'))))
ORDER BY t."eventTime", t."eventID";

-- rule: RDS Database Security Group Modification (14f3f1c8-02d5-43a2-a191-91ffb52d3015)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'rds.amazonaws.com')) AND (((lower(t."eventName") = 'authorizedbsecuritygroupingress') OR (lower(t."eventName") = 'createdbsecuritygroup') OR (lower(t."eventName") = 'deletedbsecuritygroup') OR (lower(t."eventName") = 'revokedbsecuritygroupingress'))))
ORDER BY t."eventTime", t."eventID";

-- rule: Potential Malicious Usage of CloudTrail System Manager (38e7f511-3f74-41d4-836e-f57dfa18eead)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventName") = 'sendcommand')) AND ((lower(t."eventSource") = 'ssm.amazonaws.com')) AND (((lower(t."errorCode") = 'success')) OR ((t."errorCode" IS NULL))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS VPC Flow Logs Deleted (e386b9b5-af12-450e-afff-761730fb8a98)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventName") = 'deleteflowlogs')) AND (((lower(t."errorCode") = 'success')) OR ((t."errorCode" IS NULL))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS Config Disabling Channel/Recorder (07330162-dba1-4746-8121-a9647d49d297)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'config.amazonaws.com')) AND (((lower(t."eventName") = 'deletedeliverychannel') OR (lower(t."eventName") = 'stopconfigurationrecorder'))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS Console GetSigninToken Potential Abuse (f8103686-e3e8-46f3-be72-65f7fcb4aa53)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'signin.amazonaws.com')) AND ((lower(t."eventName") = 'getsignintoken')) AND (NOT coalesce(contains(lower(t."userAgent"), 'jersey/${project.version}'), false)))
ORDER BY t."eventTime", t."eventID";

-- rule: SES Identity Has Been Deleted (20f754db-d025-4a8f-9d74-e0037e999a9a)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'ses.amazonaws.com')) AND ((lower(t."eventName") = 'deleteidentity')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS SAML Provider Deletion Activity (ccd6a6c8-bb4e-4a91-9d2a-07e632819374)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'iam.amazonaws.com')) AND ((lower(t."eventName") = 'deletesamlprovider')) AND ((coalesce((len(list_filter(list_filter(flatten([[json_extract(t."extraFields", '$."status"')], json_extract(t."extraFields", '$[*]."status"'), json_extract(t."extraFields", '$."status"[*]'), json_extract(t."extraFields", '$[*]."status"[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v2: json_type(v2) <> 'OBJECT' AND (lower(json_extract_string(v2, '$')) = 'success'))) > 0), false) OR coalesce((len(list_filter(flatten(list_transform(list_filter(list_filter(flatten([[json_extract(t."extraFields", '$."status"')], json_extract(t."extraFields", '$[*]."status"'), json_extract(t."extraFields", '$."status"[*]'), json_extract(t."extraFields", '$[*]."status"[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v3: json_type(v3) = 'OBJECT'), lambda v3: CAST(json_extract(v3, '$..*') AS JSON[]))), lambda v4: json_type(v4) NOT IN ('OBJECT', 'ARRAY', 'NULL') AND coalesce((lower(json_extract_string(v4, '$')) = 'success'), false))) > 0), false))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS S3 Bucket Versioning Disable (a136ac98-b2bc-4189-a14d-f0d0388e57a7)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 's3.amazonaws.com')) AND ((lower(t."eventName") = 'putbucketversioning')) AND ((coalesce((len(list_filter(list_filter(flatten([[json_extract(t."requestParameters", '$')], json_extract(t."requestParameters", '$[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v2: json_type(v2) <> 'OBJECT' AND contains(lower(json_extract_string(v2, '$')), 'suspended'))) > 0), false) OR coalesce((len(list_filter(flatten(list_transform(list_filter(list_filter(flatten([[json_extract(t."requestParameters", '$')], json_extract(t."requestParameters", '$[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v3: json_type(v3) = 'OBJECT'), lambda v3: CAST(json_extract(v3, '$..*') AS JSON[]))), lambda v4: json_type(v4) NOT IN ('OBJECT', 'ARRAY', 'NULL') AND coalesce(contains(lower(json_extract_string(v4, '$')), 'suspended'), false))) > 0), false))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS EC2 Disable EBS Encryption (16124c2d-e40b-4fcc-8f2c-5ab7870a2223)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'ec2.amazonaws.com')) AND ((lower(t."eventName") = 'disableebsencryptionbydefault')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS Key Pair Import Activity (92f84194-8d9a-4ee0-8699-c30bfac59780)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'ec2.amazonaws.com')) AND ((lower(t."eventName") = 'importkeypair')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS EC2 Startup Shell Script Change (1ab3c5ed-5baf-417b-bb6b-78ca33f6c3df)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'ec2.amazonaws.com')) AND ((coalesce((len(list_filter(list_filter(flatten([[json_extract(t."requestParameters", '$."attribute"')], json_extract(t."requestParameters", '$[*]."attribute"'), json_extract(t."requestParameters", '$."attribute"[*]'), json_extract(t."requestParameters", '$[*]."attribute"[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v2: json_type(v2) <> 'OBJECT' AND (lower(json_extract_string(v2, '$')) = 'userdata'))) > 0), false) OR coalesce((len(list_filter(flatten(list_transform(list_filter(list_filter(flatten([[json_extract(t."requestParameters", '$."attribute"')], json_extract(t."requestParameters", '$[*]."attribute"'), json_extract(t."requestParameters", '$."attribute"[*]'), json_extract(t."requestParameters", '$[*]."attribute"[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v3: json_type(v3) = 'OBJECT'), lambda v3: CAST(json_extract(v3, '$..*') AS JSON[]))), lambda v4: json_type(v4) NOT IN ('OBJECT', 'ARRAY', 'NULL') AND coalesce((lower(json_extract_string(v4, '$')) = 'userdata'), false))) > 0), false))) AND ((lower(t."eventName") = 'modifyinstanceattribute')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS EC2 VM Export Failure (54b9a76a-3c71-4673-b4b3-2edb4566ea7b)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventName") = 'createinstanceexporttask')) AND ((lower(t."eventSource") = 'ec2.amazonaws.com')) AND (NOT (coalesce((t."errorMessage" IS NOT NULL), false) OR coalesce((t."errorCode" IS NOT NULL), false) OR coalesce((coalesce((len(list_filter(list_filter(flatten([[json_extract(t."responseElements", '$')], json_extract(t."responseElements", '$[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v2: json_type(v2) <> 'OBJECT' AND contains(lower(json_extract_string(v2, '$')), 'failure'))) > 0), false) OR coalesce((len(list_filter(flatten(list_transform(list_filter(list_filter(flatten([[json_extract(t."responseElements", '$')], json_extract(t."responseElements", '$[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v3: json_type(v3) = 'OBJECT'), lambda v3: CAST(json_extract(v3, '$..*') AS JSON[]))), lambda v4: json_type(v4) NOT IN ('OBJECT', 'ARRAY', 'NULL') AND coalesce(contains(lower(json_extract_string(v4, '$')), 'failure'), false))) > 0), false)), false))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS ECS Task Definition That Queries The Credential Endpoint (b94bf91e-c2bf-4047-9c43-c6810f43baad)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'ecs.amazonaws.com')) AND (((lower(t."eventName") = 'describetaskdefinition') OR (lower(t."eventName") = 'registertaskdefinition') OR (lower(t."eventName") = 'runtask'))) AND ((coalesce((len(list_filter(list_filter(flatten([[json_extract(t."requestParameters", '$."containerDefinitions"."command"')], json_extract(t."requestParameters", '$[*]."containerDefinitions"."command"'), json_extract(t."requestParameters", '$."containerDefinitions"[*]."command"'), json_extract(t."requestParameters", '$[*]."containerDefinitions"[*]."command"'), json_extract(t."requestParameters", '$."containerDefinitions"."command"[*]'), json_extract(t."requestParameters", '$[*]."containerDefinitions"."command"[*]'), json_extract(t."requestParameters", '$."containerDefinitions"[*]."command"[*]'), json_extract(t."requestParameters", '$[*]."containerDefinitions"[*]."command"[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v2: json_type(v2) <> 'OBJECT' AND contains(lower(json_extract_string(v2, '$')), '$aws_container_credentials_relative_uri'))) > 0), false) OR coalesce((len(list_filter(flatten(list_transform(list_filter(list_filter(flatten([[json_extract(t."requestParameters", '$."containerDefinitions"."command"')], json_extract(t."requestParameters", '$[*]."containerDefinitions"."command"'), json_extract(t."requestParameters", '$."containerDefinitions"[*]."command"'), json_extract(t."requestParameters", '$[*]."containerDefinitions"[*]."command"'), json_extract(t."requestParameters", '$."containerDefinitions"."command"[*]'), json_extract(t."requestParameters", '$[*]."containerDefinitions"."command"[*]'), json_extract(t."requestParameters", '$."containerDefinitions"[*]."command"[*]'), json_extract(t."requestParameters", '$[*]."containerDefinitions"[*]."command"[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v3: json_type(v3) = 'OBJECT'), lambda v3: CAST(json_extract(v3, '$..*') AS JSON[]))), lambda v4: json_type(v4) NOT IN ('OBJECT', 'ARRAY', 'NULL') AND coalesce(contains(lower(json_extract_string(v4, '$')), '$aws_container_credentials_relative_uri'), false))) > 0), false))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS EFS Fileshare Modified or Deleted (25cb1ba1-8a19-4a23-a198-d252664c8cef)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'elasticfilesystem.amazonaws.com')) AND ((lower(t."eventName") = 'deletefilesystem')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS EFS Fileshare Mount Modified or Deleted (6a7ba45c-63d8-473e-9736-2eaabff79964)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'elasticfilesystem.amazonaws.com')) AND ((lower(t."eventName") = 'deletemounttarget')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS EKS Cluster Created or Deleted (33d50d03-20ec-4b74-a74e-1e65a38af1c0)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'eks.amazonaws.com')) AND (((lower(t."eventName") = 'createcluster') OR (lower(t."eventName") = 'deletecluster'))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS ElastiCache Security Group Created (4ae68615-866f-4304-b24b-ba048dfa5ca7)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'elasticache.amazonaws.com')) AND ((lower(t."eventName") = 'createcachesecuritygroup')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS ElastiCache Security Group Modified or Deleted (7c797da2-9cf2-4523-ba64-33b06339f0cc)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'elasticache.amazonaws.com')) AND (((lower(t."eventName") = 'deletecachesecuritygroup') OR (lower(t."eventName") = 'authorizecachesecuritygroupingress') OR (lower(t."eventName") = 'revokecachesecuritygroupingress') OR (lower(t."eventName") = 'authorizecachesecuritygroupegress') OR (lower(t."eventName") = 'revokecachesecuritygroupegress'))))
ORDER BY t."eventTime", t."eventID";

-- rule: Potential Bucket Enumeration on AWS (f305fd62-beca-47da-ad95-7690a0620084)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 's3.amazonaws.com')) AND ((lower(t."eventName") = 'listbuckets')) AND (NOT coalesce((lower(t."userIdentity"."type") = 'assumedrole'), false)))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS GuardDuty Important Change (6e61ee20-ce00-4f8d-8aee-bedd8216f7e3)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'guardduty.amazonaws.com')) AND ((lower(t."eventName") = 'createipset')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS IAM Backdoor Users Keys (0a5177f4-6ca9-44c2-aacf-d3f3d8b6e4d2)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'iam.amazonaws.com')) AND ((lower(t."eventName") = 'createaccesskey')) AND (NOT coalesce(contains(lower(t."userIdentity"."arn"), 'responseelements.accesskey.username'), false)))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS IAM S3Browser LoginProfile Creation (db014773-b1d3-46bd-ba26-133337c0ffee)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'iam.amazonaws.com')) AND (((lower(t."eventName") = 'getloginprofile') OR (lower(t."eventName") = 'createloginprofile'))) AND (contains(lower(t."userAgent"), 's3 browser')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS IAM S3Browser Templated S3 Bucket Policy Creation (db014773-7375-4f4e-b83b-133337c0ffee)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'iam.amazonaws.com')) AND ((lower(t."eventName") = 'putuserpolicy')) AND (contains(lower(t."userAgent"), 's3 browser')) AND ((coalesce((len(list_filter(list_filter(flatten([[json_extract(t."requestParameters", '$')], json_extract(t."requestParameters", '$[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v2: json_type(v2) <> 'OBJECT' AND regexp_full_match(lower(json_extract_string(v2, '$')), '(?s).*"arn:aws:s3:::<your-bucket-name>/.*".*'))) > 0), false) OR coalesce((len(list_filter(flatten(list_transform(list_filter(list_filter(flatten([[json_extract(t."requestParameters", '$')], json_extract(t."requestParameters", '$[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v3: json_type(v3) = 'OBJECT'), lambda v3: CAST(json_extract(v3, '$..*') AS JSON[]))), lambda v4: json_type(v4) NOT IN ('OBJECT', 'ARRAY', 'NULL') AND coalesce(regexp_full_match(lower(json_extract_string(v4, '$')), '(?s).*"arn:aws:s3:::<your-bucket-name>/.*".*'), false))) > 0), false))) AND ((coalesce((len(list_filter(list_filter(flatten([[json_extract(t."requestParameters", '$')], json_extract(t."requestParameters", '$[*]')]), lambda v5: json_type(v5) NOT IN ('ARRAY', 'NULL')), lambda v6: json_type(v6) <> 'OBJECT' AND contains(lower(json_extract_string(v6, '$')), '"s3:getobject"'))) > 0), false) OR coalesce((len(list_filter(flatten(list_transform(list_filter(list_filter(flatten([[json_extract(t."requestParameters", '$')], json_extract(t."requestParameters", '$[*]')]), lambda v5: json_type(v5) NOT IN ('ARRAY', 'NULL')), lambda v7: json_type(v7) = 'OBJECT'), lambda v7: CAST(json_extract(v7, '$..*') AS JSON[]))), lambda v8: json_type(v8) NOT IN ('OBJECT', 'ARRAY', 'NULL') AND coalesce(contains(lower(json_extract_string(v8, '$')), '"s3:getobject"'), false))) > 0), false))) AND ((coalesce((len(list_filter(list_filter(flatten([[json_extract(t."requestParameters", '$')], json_extract(t."requestParameters", '$[*]')]), lambda v9: json_type(v9) NOT IN ('ARRAY', 'NULL')), lambda v10: json_type(v10) <> 'OBJECT' AND contains(lower(json_extract_string(v10, '$')), '"allow"'))) > 0), false) OR coalesce((len(list_filter(flatten(list_transform(list_filter(list_filter(flatten([[json_extract(t."requestParameters", '$')], json_extract(t."requestParameters", '$[*]')]), lambda v9: json_type(v9) NOT IN ('ARRAY', 'NULL')), lambda v11: json_type(v11) = 'OBJECT'), lambda v11: CAST(json_extract(v11, '$..*') AS JSON[]))), lambda v12: json_type(v12) NOT IN ('OBJECT', 'ARRAY', 'NULL') AND coalesce(contains(lower(json_extract_string(v12, '$')), '"allow"'), false))) > 0), false))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS IAM S3Browser User or AccessKey Creation (db014773-d9d9-4792-91e5-133337c0ffee)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'iam.amazonaws.com')) AND (((lower(t."eventName") = 'createuser') OR (lower(t."eventName") = 'createaccesskey'))) AND (contains(lower(t."userAgent"), 's3 browser')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS KMS Imported Key Material Usage (1279262f-1464-422f-ac0d-5b545320c526)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'kms.amazonaws.com')) AND (((lower(t."eventName") = 'importkeymaterial') OR (lower(t."eventName") = 'deleteimportedkeymaterial'))))
ORDER BY t."eventTime", t."eventID";

-- rule: New AWS Lambda Function URL Configuration Created (ec541962-c05a-4420-b9ea-84de072d18f4)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'lambda.amazonaws.com')) AND ((lower(t."eventName") = 'createfunctionurlconfig')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS New Lambda Layer Attached (97fbabf8-8e1b-47a2-b7d5-a418d2b95e3d)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'lambda.amazonaws.com')) AND (starts_with(lower(t."eventName"), 'updatefunctionconfiguration')) AND ((coalesce((len(list_filter(list_filter(flatten([[json_extract(t."requestParameters", '$."layers"')], json_extract(t."requestParameters", '$[*]."layers"'), json_extract(t."requestParameters", '$."layers"[*]'), json_extract(t."requestParameters", '$[*]."layers"[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v2: json_type(v2) <> 'OBJECT' AND (json_extract_string(v2, '$') IS NOT NULL))) > 0), false) OR coalesce((len(list_filter(flatten(list_transform(list_filter(list_filter(flatten([[json_extract(t."requestParameters", '$."layers"')], json_extract(t."requestParameters", '$[*]."layers"'), json_extract(t."requestParameters", '$."layers"[*]'), json_extract(t."requestParameters", '$[*]."layers"[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v3: json_type(v3) = 'OBJECT'), lambda v3: CAST(json_extract(v3, '$..*') AS JSON[]))), lambda v4: json_type(v4) NOT IN ('OBJECT', 'ARRAY', 'NULL') AND coalesce((json_extract_string(v4, '$') IS NOT NULL), false))) > 0), false))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS Glue Development Endpoint Activity (4990c2e3-f4b8-45e3-bc3c-30b14ff0ed26)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'glue.amazonaws.com')) AND (((lower(t."eventName") = 'createdevendpoint') OR (lower(t."eventName") = 'deletedevendpoint') OR (lower(t."eventName") = 'updatedevendpoint'))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS RDS Master Password Change (8a63cdd4-6207-414a-85bc-7e032bd3c1a2)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'rds.amazonaws.com')) AND ((coalesce((len(list_filter(list_filter(flatten([[json_extract(t."responseElements", '$."pendingModifiedValues"."masterUserPassword"')], json_extract(t."responseElements", '$[*]."pendingModifiedValues"."masterUserPassword"'), json_extract(t."responseElements", '$."pendingModifiedValues"[*]."masterUserPassword"'), json_extract(t."responseElements", '$[*]."pendingModifiedValues"[*]."masterUserPassword"'), json_extract(t."responseElements", '$."pendingModifiedValues"."masterUserPassword"[*]'), json_extract(t."responseElements", '$[*]."pendingModifiedValues"."masterUserPassword"[*]'), json_extract(t."responseElements", '$."pendingModifiedValues"[*]."masterUserPassword"[*]'), json_extract(t."responseElements", '$[*]."pendingModifiedValues"[*]."masterUserPassword"[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v2: json_type(v2) <> 'OBJECT' AND (json_extract_string(v2, '$') IS NOT NULL))) > 0), false) OR coalesce((len(list_filter(flatten(list_transform(list_filter(list_filter(flatten([[json_extract(t."responseElements", '$."pendingModifiedValues"."masterUserPassword"')], json_extract(t."responseElements", '$[*]."pendingModifiedValues"."masterUserPassword"'), json_extract(t."responseElements", '$."pendingModifiedValues"[*]."masterUserPassword"'), json_extract(t."responseElements", '$[*]."pendingModifiedValues"[*]."masterUserPassword"'), json_extract(t."responseElements", '$."pendingModifiedValues"."masterUserPassword"[*]'), json_extract(t."responseElements", '$[*]."pendingModifiedValues"."masterUserPassword"[*]'), json_extract(t."responseElements", '$."pendingModifiedValues"[*]."masterUserPassword"[*]'), json_extract(t."responseElements", '$[*]."pendingModifiedValues"[*]."masterUserPassword"[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v3: json_type(v3) = 'OBJECT'), lambda v3: CAST(json_extract(v3, '$..*') AS JSON[]))), lambda v4: json_type(v4) NOT IN ('OBJECT', 'ARRAY', 'NULL') AND coalesce((json_extract_string(v4, '$') IS NOT NULL), false))) > 0), false))) AND ((lower(t."eventName") = 'modifydbinstance')))
ORDER BY t."eventTime", t."eventID";

-- rule: Modification or Deletion of an AWS RDS Cluster (457cc9ac-d8e6-4d1d-8c0e-251d0f11a74c)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'rds.amazonaws.com')) AND (((lower(t."eventName") = 'modifydbcluster') OR (lower(t."eventName") = 'deletedbcluster'))))
ORDER BY t."eventTime", t."eventID";

-- rule: Restore Public AWS RDS Instance (c3f265c7-ff03-4056-8ab2-d486227b4599)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'rds.amazonaws.com')) AND ((coalesce((len(list_filter(list_filter(flatten([[json_extract(t."responseElements", '$."publiclyAccessible"')], json_extract(t."responseElements", '$[*]."publiclyAccessible"'), json_extract(t."responseElements", '$."publiclyAccessible"[*]'), json_extract(t."responseElements", '$[*]."publiclyAccessible"[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v2: json_type(v2) <> 'OBJECT' AND (lower(json_extract_string(v2, '$')) = 'true'))) > 0), false) OR coalesce((len(list_filter(flatten(list_transform(list_filter(list_filter(flatten([[json_extract(t."responseElements", '$."publiclyAccessible"')], json_extract(t."responseElements", '$[*]."publiclyAccessible"'), json_extract(t."responseElements", '$."publiclyAccessible"[*]'), json_extract(t."responseElements", '$[*]."publiclyAccessible"[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v3: json_type(v3) = 'OBJECT'), lambda v3: CAST(json_extract(v3, '$..*') AS JSON[]))), lambda v4: json_type(v4) NOT IN ('OBJECT', 'ARRAY', 'NULL') AND coalesce((lower(json_extract_string(v4, '$')) = 'true'), false))) > 0), false))) AND ((lower(t."eventName") = 'restoredbinstancefromdbsnapshot')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS Root Credentials (8ad1600d-e9dc-4251-b0ee-a65268f29add)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."userIdentity"."type") = 'root')) AND (NOT coalesce((lower(t."eventType") = 'awsserviceevent'), false)))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS Route 53 Domain Transfer Lock Disabled (3940b5f1-3f46-44aa-b746-ebe615b879e0)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'route53.amazonaws.com')) AND ((lower(t."eventName") = 'disabledomaintransferlock')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS Route 53 Domain Transferred to Another Account (b056de1a-6e6e-4e40-a67e-97c9808cf41b)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'route53.amazonaws.com')) AND ((lower(t."eventName") = 'transferdomaintoanotherawsaccount')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS S3 Data Management Tampering (78b3756a-7804-4ef7-8555-7b9024a02e2d)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 's3.amazonaws.com')) AND (((lower(t."eventName") = 'putbucketlogging') OR (lower(t."eventName") = 'putbucketwebsite') OR (lower(t."eventName") = 'putencryptionconfiguration') OR (lower(t."eventName") = 'putlifecycleconfiguration') OR (lower(t."eventName") = 'putreplicationconfiguration') OR (lower(t."eventName") = 'replicateobject') OR (lower(t."eventName") = 'restoreobject'))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS SecurityHub Findings Evasion (a607e1fe-74bf-4440-a3ec-b059b9103157)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'securityhub.amazonaws.com')) AND (((lower(t."eventName") = 'batchupdatefindings') OR (lower(t."eventName") = 'deleteinsight') OR (lower(t."eventName") = 'updatefindings') OR (lower(t."eventName") = 'updateinsight'))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS Snapshot Backup Exfiltration (abae8fec-57bd-4f87-aff6-6e3db989843d)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'ec2.amazonaws.com')) AND ((lower(t."eventName") = 'modifysnapshotattribute')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS Identity Center Identity Provider Change (d3adb3ef-b7e7-4003-9092-1924c797db35)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE ((((lower(t."eventSource") = 'sso-directory.amazonaws.com') OR (lower(t."eventSource") = 'sso.amazonaws.com'))) AND (((lower(t."eventName") = 'associatedirectory') OR (lower(t."eventName") = 'disableexternalidpconfigurationfordirectory') OR (lower(t."eventName") = 'disassociatedirectory') OR (lower(t."eventName") = 'enableexternalidpconfigurationfordirectory'))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS STS AssumeRole Misuse (905d389b-b853-46d0-9d3d-dea0d3a3cd49)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."userIdentity"."type") = 'assumedrole')) AND ((lower(t."userIdentity"."sessionContext"."sessionIssuer"."type") = 'role')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS STS GetCallerIdentity Enumeration Via TruffleHog (9b1b8e9b-0a5d-4af1-9d2f-4c4b6e7c2c9d)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'sts.amazonaws.com')) AND ((lower(t."eventName") = 'getcalleridentity')) AND (contains(lower(t."userAgent"), 'trufflehog')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS STS GetSessionToken Misuse (b45ab1d2-712f-4f01-a751-df3826969807)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'sts.amazonaws.com')) AND ((lower(t."eventName") = 'getsessiontoken')) AND ((lower(t."userIdentity"."type") = 'iamuser')))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS Suspicious SAML Activity (f43f5d2f-3f2a-4cc8-b1af-81fde7dbaf0e)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE ((((lower(t."eventSource") = 'sts.amazonaws.com')) AND ((lower(t."eventName") = 'assumerolewithsaml'))) OR (((lower(t."eventSource") = 'iam.amazonaws.com')) AND ((lower(t."eventName") = 'updatesamlprovider'))))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS User Login Profile Was Modified (055fb148-60f8-462d-ad16-26926ce050f1)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventSource") = 'iam.amazonaws.com')) AND ((lower(t."eventName") = 'updateloginprofile')) AND (NOT coalesce((len(list_filter(list_transform(list_filter(list_filter(flatten([[json_extract(t."requestParameters", '$."userName"')], json_extract(t."requestParameters", '$[*]."userName"'), json_extract(t."requestParameters", '$."userName"[*]'), json_extract(t."requestParameters", '$[*]."userName"[*]')]), lambda v1: json_type(v1) NOT IN ('ARRAY', 'NULL')), lambda v2: json_type(v2) <> 'OBJECT'), lambda v2: json_extract_string(v2, '$')), lambda v3: (lower(t."userIdentity"."arn") = lower(v3)))) > 0), false)))
ORDER BY t."eventTime", t."eventID";

-- rule: AWS Macie Evasion (91f6a16c-ef71-437a-99ac-0b070e3ad221/base)
SELECT t."eventID", t."eventTime"
FROM "events" AS t
WHERE (((lower(t."eventName") = 'archivefindings') OR (lower(t."eventName") = 'createfindingsfilter') OR (lower(t."eventName") = 'deletemember') OR (lower(t."eventName") = 'disassociatefrommasteraccount') OR (lower(t."eventName") = 'disassociatemember') OR (lower(t."eventName") = 'disablemacie') OR (lower(t."eventName") = 'disableorganizationadminaccount') OR (lower(t."eventName") = 'updatefindingsfilter') OR (lower(t."eventName") = 'updatemaciesession') OR (lower(t."eventName") = 'updatemembersession') OR (lower(t."eventName") = 'updateclassificationjob')))
ORDER BY t."eventTime", t."eventID";

-- correlation: AWS Macie Evasion (91f6a16c-ef71-437a-99ac-0b070e3ad221)
WITH m AS (
  SELECT 0 AS rule_pos, coalesce(t."eventID", '') AS eid, t."eventTime" AS ts, CAST(floor(epoch_ms(t."eventTime") / 600000) AS BIGINT) AS w, t."sourceIPAddress" AS g0
  FROM "events" AS t
  WHERE t."eventTime" IS NOT NULL AND (((lower(t."eventName") = 'archivefindings') OR (lower(t."eventName") = 'createfindingsfilter') OR (lower(t."eventName") = 'deletemember') OR (lower(t."eventName") = 'disassociatefrommasteraccount') OR (lower(t."eventName") = 'disassociatemember') OR (lower(t."eventName") = 'disablemacie') OR (lower(t."eventName") = 'disableorganizationadminaccount') OR (lower(t."eventName") = 'updatefindingsfilter') OR (lower(t."eventName") = 'updatemaciesession') OR (lower(t."eventName") = 'updatemembersession') OR (lower(t."eventName") = 'updateclassificationjob')))
),
a AS (
  SELECT w, g0, count(DISTINCT eid) AS n, min(ts) AS first_time, max(ts) AS last_time, list_sort(list_distinct(list(eid))) AS event_ids
  FROM m GROUP BY w, g0
)
SELECT a.g0 AS "sourceIPAddress", epoch_ms(a.w * 600000) AS window_start, a.n AS "count", a.first_time, a.last_time, a.event_ids
FROM a
WHERE a.n > 5
ORDER BY a.w, a.g0 NULLS FIRST;

