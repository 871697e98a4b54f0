// A tiny DNS server standing in for the VPC resolver inside a test namespace: answers every A query with
// the address in argv[3], and prints the source address of each query on stdout.
const dgram = require('node:dgram');
const [, , bind, answer] = process.argv;
const socket = dgram.createSocket('udp4');
socket.on('message', (query, from) => {
  process.stdout.write(`query from ${from.address}\n`);
  let end = 12;
  while (query[end] !== 0) end += query[end] + 1;
  const question = query.subarray(12, end + 5);
  const header = Buffer.from([query[0], query[1], 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
  const record = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...answer.split('.').map(Number)]);
  socket.send(Buffer.concat([header, question, record]), from.port, from.address);
});
socket.bind(53, bind, () => process.stdout.write('ready\n'));
