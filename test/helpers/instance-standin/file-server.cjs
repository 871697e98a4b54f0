// The release download server of an instance stand-in: HTTPS on the instance's loopback, serving the files
// of one directory under their names. Arguments: port, directory holding key.pem and cert.pem, files dir.
const https = require('node:https');
const fs = require('node:fs');
const path = require('node:path');

const [port, tlsDir, filesDir] = process.argv.slice(2);
https
  .createServer(
    {
      key: fs.readFileSync(path.join(tlsDir, 'key.pem')),
      cert: fs.readFileSync(path.join(tlsDir, 'cert.pem')),
    },
    (req, res) => {
      const file = path.join(filesDir, path.basename(new URL(req.url, 'https://x').pathname));
      if (req.method !== 'GET' || !fs.existsSync(file)) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-length': fs.statSync(file).size });
      fs.createReadStream(file).pipe(res);
    },
  )
  .listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
