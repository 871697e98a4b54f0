import { describe, expect, it } from 'vitest';
import { toCsv } from '../src/export/csv';
import { exportCsv, exportedSites } from '../src/export/export';

describe('CSV export', () => {
  it('quotes as RFC 4180 says and keeps formulas inert', () => {
    expect(
      toCsv(
        ['a', 'b', 'c'],
        [
          ['plain', 1, true],
          ['with,comma', 'say "hi"', null],
          ['line\nbreak', '=HYPERLINK("http://x")', '-2+3'],
          ['@SUM(A1)', '+1', 'ok'],
        ],
      ),
    ).toBe(
      'a,b,c\r\nplain,1,true\r\n"with,comma","say ""hi""",\r\n"line\nbreak","\'=HYPERLINK(""http://x"")",\'-2+3\r\n\'@SUM(A1),\'+1,ok\r\n',
    );
  });

  it('joins recorded sites with the controller’s view, in a fixed column order', () => {
    const sites = exportedSites(
      {
        sites: [
          {
            number: 0,
            name: 'Lisbon',
            publicKey: 'pk0',
            accessServer: 0,
            registered: true,
            router: { host: '10.8.0.1', port: 22, user: 'root' },
          },
          { number: 4, name: 'Porto', publicKey: 'pk4', accessServer: 0, registered: false },
        ],
      },
      [
        {
          number: 0,
          name: 'Lisbon',
          cidr: '10.8.0.0/24',
          publicKey: 'pk0',
          accessServer: 0,
          createdAt: 't',
          updatedAt: 't',
          lastReportAt: '2026-01-01T00:00:00.000Z',
          deviceCount: 3,
          onlineCount: 2,
        },
      ],
    );
    expect(exportCsv('sites', { sites })).toBe(
      [
        'number,name,cidr,accessServer,publicKey,routerHost,registered,lastReportAt,deviceCount,onlineCount',
        '0,Lisbon,10.8.0.0/24,0,pk0,10.8.0.1,true,2026-01-01T00:00:00.000Z,3,2',
        '4,Porto,10.8.4.0/24,0,pk4,,false,,,',
        '',
      ].join('\r\n'),
    );
  });
});
