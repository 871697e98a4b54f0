// Stand-in for the AWS CLI on an instance stand-in: the calls the instance scripts make, sent with the real
// SDK to the test's moto server over a Unix socket (the instance's network namespace has no route to it).
// Credentials are fixed test ones where a real instance would take its role's from IMDS.
// Environment: WAVESHIFT_STANDIN_REPO (for node_modules), WAVESHIFT_STANDIN_AWS_SOCKET.
const { createRequire } = require('node:module');
const http = require('node:http');
const net = require('node:net');
const fs = require('node:fs');

const req = createRequire(`${process.env.WAVESHIFT_STANDIN_REPO}/package.json`);
const { SSMClient, GetParameterCommand } = req('@aws-sdk/client-ssm');
const { S3Client, GetObjectCommand } = req('@aws-sdk/client-s3');
const { NodeHttpHandler } = req('@smithy/node-http-handler');

const fail = (message, code = 1) => {
  process.stderr.write(`aws: ${message}\n`);
  process.exit(code);
};
const args = process.argv.slice(2);
const options = {};
const positional = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--with-decryption' || a === '--only-show-errors' || a === '--no-cli-pager') options[a] = true;
  else if (a.startsWith('--')) options[a] = args[++i];
  else positional.push(a);
}
const region = options['--region'] ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
if (!region)
  fail('You must specify a region. You can also configure your region by running "aws configure".', 253);
const agent = new http.Agent();
agent.createConnection = (_options, callback) => {
  const socket = net.connect(process.env.WAVESHIFT_STANDIN_AWS_SOCKET);
  socket.once('connect', () => callback?.(null, socket));
  socket.once('error', (e) => callback?.(e));
  return socket;
};
const common = {
  region,
  endpoint: 'http://aws.standin',
  credentials: { accessKeyId: 'instance-role', secretAccessKey: 'instance-role' },
  requestHandler: new NodeHttpHandler({ httpAgent: agent }),
  maxAttempts: 1,
};

async function main() {
  const command = positional.join(' ');
  if (command === 'ssm get-parameter') {
    if (!options['--name']) fail('the following arguments are required: --name', 252);
    let out;
    try {
      out = await new SSMClient(common).send(
        new GetParameterCommand({
          Name: options['--name'],
          WithDecryption: Boolean(options['--with-decryption']),
        }),
      );
    } catch (e) {
      fail(`An error occurred (${e.name}) when calling the GetParameter operation: ${e.message}`, 254);
    }
    if (options['--query'] === 'Parameter.Value' && options['--output'] === 'text') {
      process.stdout.write(`${out.Parameter.Value}\n`);
      return;
    }
    fail(`the stand-in supports only --query Parameter.Value --output text`, 2);
  }
  if (positional[0] === 's3' && positional[1] === 'cp' && positional.length === 4) {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(positional[2]);
    if (!m) fail('the stand-in copies only from s3://bucket/key to a file', 2);
    try {
      // moto reads the bucket from the path when the host is localhost (as in its own tests).
      const out = await new S3Client({ ...common, endpoint: 'http://localhost', forcePathStyle: true }).send(
        new GetObjectCommand({ Bucket: m[1], Key: m[2] }),
      );
      fs.writeFileSync(positional[3], await out.Body.transformToByteArray());
    } catch (e) {
      fail(
        `download failed: ${positional[2]} An error occurred (${e.name}) when calling the GetObject operation`,
        1,
      );
    }
    return;
  }
  fail(`the stand-in does not implement "${args.join(' ')}"`, 2);
}
main();
