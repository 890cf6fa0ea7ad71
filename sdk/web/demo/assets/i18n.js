// i18n.js: the demo shop's own texts, prices and currencies per region.
// Offer copy that an experiment tests (the Kettle Pro wording, the
// starter-set wording of offer-strategy) lives in the experiment payloads
// of upshotd.demo.json; everything else is here.

export const REGIONS = ['gr', 'pl', 'mena', 'ee', 'se']

// Prices per region in its currency: region -> product -> price.
export const PRICES = {
  gr: { kettle: 49, 'kettle-pro': 79, dripper: 15, 'starter-set': 24, 'brew-kit': 34, 'care-1': 5, 'care-2': 9, 'care-3': 15, beans: 16 },
  ee: { kettle: 49, 'kettle-pro': 79, dripper: 15, 'starter-set': 24, 'brew-kit': 34, 'care-1': 5, 'care-2': 9, 'care-3': 15, beans: 16 },
  pl: { kettle: 209, 'kettle-pro': 339, dripper: 65, 'starter-set': 99, 'brew-kit': 149, 'care-1': 19, 'care-2': 39, 'care-3': 59, beans: 69 },
  mena: { kettle: 199, 'kettle-pro': 319, dripper: 59, 'starter-set': 95, 'brew-kit': 139, 'care-1': 19, 'care-2': 35, 'care-3': 59, beans: 65 },
  se: { kettle: 549, 'kettle-pro': 879, dripper: 159, 'starter-set': 259, 'brew-kit': 369, 'care-1': 49, 'care-2': 99, 'care-3': 159, beans: 179 }
}

export const T = {
  gr: {
    lang: 'el', dir: 'ltr', locale: 'el-GR', currency: 'EUR', regionName: 'Ελλάδα',
    tagline: 'Εξοπλισμός για καφέ φίλτρου, φρεσκοκαβουρδισμένος',
    navShop: 'Κατάστημα', navCart: 'Καλάθι', region: 'Περιοχή',
    products: {
      dripper: 'Dripper πορσελάνης', 'brew-kit': 'Σετ καφέ: dripper, 100 φίλτρα και 250 g κόκκοι',
      kettle: 'Βραστήρας Pour-Over', 'kettle-pro': 'Kettle Pro', 'starter-set': 'Σετ εκκίνησης: dripper + 100 φίλτρα',
      'care-1': 'Πρόγραμμα φροντίδας Basic', 'care-2': 'Πρόγραμμα φροντίδας Standard', 'care-3': 'Πρόγραμμα φροντίδας Premium', beans: 'Κόκκοι μονοποικιλιακοί 500 g'
    },
    productLead: 'Λεπτό στόμιο για σταθερή, αργή ροή. Ατσάλι, 0,8 λίτρα, βάση 360°.',
    points: ['Δωρεάν αποστολή από 40 €', 'Επιστροφή εντός 30 ημερών', 'Διαθέσιμο, αποστολή αύριο'],
    addToCart: 'Προσθήκη στο καλάθι', added: 'Προστέθηκε', inStock: 'Σε απόθεμα',
    cartTitle: 'Το καλάθι σας', cartEmpty: 'Το καλάθι σας είναι άδειο.', backToShop: 'Συνέχεια αγορών',
    remove: 'Αφαίρεση', subtotal: 'Υποσύνολο', total: 'Σύνολο', shipping: 'Αποστολή', free: 'Δωρεάν',
    toCheckout: 'Ολοκλήρωση αγοράς', checkoutTitle: 'Ολοκλήρωση αγοράς', contact: 'Στοιχεία αποστολής',
    name: 'Ονοματεπώνυμο', email: 'E-mail', address: 'Διεύθυνση', city: 'Πόλη',
    payment: 'Πληρωμή κατά την παράδοση (demo, καμία χρέωση)', placeOrder: 'Υποβολή παραγγελίας', summary: 'Η παραγγελία σας',
    thanksTitle: 'Ευχαριστούμε για την παραγγελία!', orderNo: 'Αριθμός παραγγελίας', thanksLine: 'Θα λάβετε e-mail μόλις φύγει το δέμα σας.',
    noThanks: 'Όχι, ευχαριστώ', declined: 'Εντάξει, δεν θα σας το ξαναδείξουμε.', add: 'Προσθήκη', inCart: 'Στο καλάθι',
    starterHead: 'Ολοκληρώστε το σετ σας', starterBody: 'Ο βραστήρας θέλει dripper: πάρτε τον μαζί με 100 φίλτρα και φτιάξτε τον πρώτο σας καφέ αμέσως.',
    popupTitle: 'Κάτι ακόμα πριν πληρώσετε;', popupAdd: 'Προσθήκη και παραγγελία', popupSkip: 'Όχι, συνέχεια στην παραγγελία',
    afterHead: 'Προσθέστε το στην ίδια αποστολή', afterBody: 'Έρχεται στο ίδιο κουτί, χωρίς επιπλέον μεταφορικά.', afterAdd: 'Προσθήκη στην παραγγελία', afterDone: 'Προστέθηκε στην παραγγελία σας.',
    careHead: 'Προστατέψτε τον βραστήρα σας', careSingle: '2 χρόνια κάλυψη και καθαριστικό αλάτων.',
    tiers: { 'care-1': ['Basic', '1 χρόνος κάλυψη'], 'care-2': ['Standard', '2 χρόνια κάλυψη + καθαριστικό'], 'care-3': ['Premium', '3 χρόνια, και για ατυχήματα'] },
    kitTiers: { dripper: ['Dripper', 'Μόνο το dripper'], 'starter-set': ['Σετ εκκίνησης', 'Dripper + 100 φίλτρα'], 'brew-kit': ['Σετ καφέ', 'Dripper, 100 φίλτρα και 250 g κόκκοι'] },
    popular: 'Η πιο δημοφιλής', choose: 'Επιλογή',
    beansHead: 'Φρέσκος καφές για το πρώτο πρωινό', beansBody: '15% έκπτωση αν τον προσθέσετε τώρα.',
    endsIn: 'Η προσφορά λήγει σε', left: 'Μόνο {n} στην τιμή αυτή', ended: 'Η προσφορά έληξε· ισχύει η κανονική τιμή.',
    reviews: '{r} / 5 από {n} κριτικές', demoNote: 'Κατάστημα επίδειξης του Upshot. Οι προσφορές επιλέγονται από το upshotd.'
  },
  pl: {
    lang: 'pl', dir: 'ltr', locale: 'pl-PL', currency: 'PLN', regionName: 'Polska',
    tagline: 'Sprzęt do kawy przelewowej i świeżo palone ziarna',
    navShop: 'Sklep', navCart: 'Koszyk', region: 'Region',
    products: {
      dripper: 'Porcelanowy drip', 'brew-kit': 'Zestaw kawowy: drip, 100 filtrów i 250 g ziaren',
      kettle: 'Czajnik Pour-Over', 'kettle-pro': 'Kettle Pro', 'starter-set': 'Zestaw startowy: drip + 100 filtrów',
      'care-1': 'Ochrona Basic', 'care-2': 'Ochrona Standard', 'care-3': 'Ochrona Premium', beans: 'Kawa single origin 500 g'
    },
    productLead: 'Wąska wylewka do równego, powolnego nalewania. Stal, 0,8 l, podstawa 360°.',
    points: ['Darmowa dostawa od 170 zł', '30 dni na zwrot', 'Dostępny, wysyłka jutro'],
    addToCart: 'Dodaj do koszyka', added: 'Dodano', inStock: 'Dostępny',
    cartTitle: 'Twój koszyk', cartEmpty: 'Twój koszyk jest pusty.', backToShop: 'Wróć do zakupów',
    remove: 'Usuń', subtotal: 'Suma częściowa', total: 'Razem', shipping: 'Dostawa', free: 'Gratis',
    toCheckout: 'Przejdź do kasy', checkoutTitle: 'Kasa', contact: 'Dane do wysyłki',
    name: 'Imię i nazwisko', email: 'E-mail', address: 'Adres', city: 'Miasto',
    payment: 'Płatność przy odbiorze (demo, bez obciążenia)', placeOrder: 'Zamawiam', summary: 'Twoje zamówienie',
    thanksTitle: 'Dziękujemy za zamówienie!', orderNo: 'Numer zamówienia', thanksLine: 'Wyślemy e-mail, gdy paczka wyruszy.',
    noThanks: 'Nie, dziękuję', declined: 'Jasne, nie pokażemy tego ponownie.', add: 'Dodaj', inCart: 'W koszyku',
    starterHead: 'Skompletuj zestaw', starterBody: 'Do czajnika przyda się drip: weź go razem ze 100 filtrami i zaparz pierwszą kawę od razu.',
    popupTitle: 'Jeszcze coś przed płatnością?', popupAdd: 'Dodaj i zamów', popupSkip: 'Nie, przejdź do zamówienia',
    afterHead: 'Dorzuć do tej samej paczki', afterBody: 'Przyjdzie w tym samym kartonie, bez dodatkowych kosztów wysyłki.', afterAdd: 'Dodaj do zamówienia', afterDone: 'Dodano do Twojego zamówienia.',
    careHead: 'Zabezpiecz swój czajnik', careSingle: '2 lata ochrony i odkamieniacz w zestawie.',
    tiers: { 'care-1': ['Basic', '1 rok ochrony'], 'care-2': ['Standard', '2 lata + odkamieniacz'], 'care-3': ['Premium', '3 lata, także od przypadkowych uszkodzeń'] },
    kitTiers: { dripper: ['Drip', 'Sam drip'], 'starter-set': ['Zestaw startowy', 'Drip + 100 filtrów'], 'brew-kit': ['Zestaw kawowy', 'Drip, 100 filtrów i 250 g ziaren'] },
    popular: 'Najczęściej wybierany', choose: 'Wybierz',
    beansHead: 'Świeża kawa na pierwszy poranek', beansBody: '15% taniej, jeśli dodasz ją teraz.',
    endsIn: 'Oferta kończy się za', left: 'Tylko {n} szt. w tej cenie', ended: 'Oferta się skończyła; obowiązuje zwykła cena.',
    reviews: '{r} / 5 z {n} opinii', demoNote: 'Sklep demonstracyjny Upshot. Oferty wybiera upshotd.'
  },
  mena: {
    lang: 'ar', dir: 'rtl', locale: 'ar-AE', currency: 'AED', regionName: 'الشرق الأوسط وشمال أفريقيا',
    tagline: 'أدوات القهوة المقطرة وحبوب محمصة طازجة',
    navShop: 'المتجر', navCart: 'السلة', region: 'المنطقة',
    products: {
      dripper: 'قمع تقطير من البورسلين', 'brew-kit': 'طقم القهوة: قمع تقطير و100 فلتر و250 غ بن',
      kettle: 'غلاية Pour-Over', 'kettle-pro': 'Kettle Pro', 'starter-set': 'طقم البداية: قمع تقطير + 100 فلتر',
      'care-1': 'خطة العناية الأساسية', 'care-2': 'خطة العناية القياسية', 'care-3': 'خطة العناية المميزة', beans: 'بن أحادي المصدر 500 غ'
    },
    productLead: 'فوهة رفيعة لصبّ هادئ ومتساوٍ. فولاذ، 0.8 لتر، قاعدة تدور 360°.',
    points: ['شحن مجاني للطلبات فوق 150 درهم', 'إرجاع خلال 30 يومًا', 'متوفر، يُشحن غدًا'],
    addToCart: 'أضف إلى السلة', added: 'تمت الإضافة', inStock: 'متوفر',
    cartTitle: 'سلة التسوق', cartEmpty: 'سلتك فارغة.', backToShop: 'متابعة التسوق',
    remove: 'إزالة', subtotal: 'المجموع الفرعي', total: 'الإجمالي', shipping: 'الشحن', free: 'مجاني',
    toCheckout: 'إتمام الشراء', checkoutTitle: 'إتمام الشراء', contact: 'بيانات التوصيل',
    name: 'الاسم الكامل', email: 'البريد الإلكتروني', address: 'العنوان', city: 'المدينة',
    payment: 'الدفع عند الاستلام (تجريبي، بلا رسوم)', placeOrder: 'تأكيد الطلب', summary: 'طلبك',
    thanksTitle: 'شكرًا لطلبك!', orderNo: 'رقم الطلب', thanksLine: 'سنرسل إليك رسالة عند شحن طردك.',
    noThanks: 'لا، شكرًا', declined: 'حسنًا، لن نعرض هذا مجددًا.', add: 'أضف', inCart: 'في السلة',
    starterHead: 'أكمل أدواتك', starterBody: 'الغلاية تحتاج إلى قمع تقطير: خذه مع 100 فلتر وحضّر أول كوب فورًا.',
    popupTitle: 'شيء أخير قبل الدفع؟', popupAdd: 'أضف وأكمل الطلب', popupSkip: 'لا، أكمل الطلب',
    afterHead: 'أضفه إلى الشحنة نفسها', afterBody: 'يصل في الصندوق نفسه، دون رسوم شحن إضافية.', afterAdd: 'أضف إلى الطلب', afterDone: 'تمت إضافته إلى طلبك.',
    careHead: 'احمِ غلايتك', careSingle: 'سنتان من الحماية مع مزيل الترسبات.',
    tiers: { 'care-1': ['أساسية', 'سنة من الحماية'], 'care-2': ['قياسية', 'سنتان + مزيل الترسبات'], 'care-3': ['مميزة', '3 سنوات، وتشمل الحوادث'] },
    kitTiers: { dripper: ['قمع التقطير', 'القمع وحده'], 'starter-set': ['طقم البداية', 'قمع تقطير + 100 فلتر'], 'brew-kit': ['طقم القهوة', 'قمع تقطير و100 فلتر و250 غ بن'] },
    popular: 'الأكثر اختيارًا', choose: 'اختر',
    beansHead: 'قهوة طازجة لصباحك الأول', beansBody: 'خصم 15% إذا أضفتها الآن.',
    endsIn: 'ينتهي العرض خلال', left: 'بقي {n} فقط بهذا السعر', ended: 'انتهى العرض؛ يسري السعر العادي.',
    reviews: '{r} / 5 من {n} مراجعة', demoNote: 'متجر تجريبي لـ Upshot. العروض يختارها upshotd.'
  },
  ee: {
    lang: 'et', dir: 'ltr', locale: 'et-EE', currency: 'EUR', regionName: 'Eesti',
    tagline: 'Filterkohvi tarvikud ja värskelt röstitud oad',
    navShop: 'Pood', navCart: 'Ostukorv', region: 'Piirkond',
    products: {
      dripper: 'Portselanist tilguti', 'brew-kit': 'Kohvikomplekt: tilguti, 100 filtrit ja 250 g ube',
      kettle: 'Pour-Over veekann', 'kettle-pro': 'Kettle Pro', 'starter-set': 'Alustuskomplekt: tilguti + 100 filtrit',
      'care-1': 'Hoolduspakett Basic', 'care-2': 'Hoolduspakett Standard', 'care-3': 'Hoolduspakett Premium', beans: 'Ühe päritoluga kohvioad 500 g'
    },
    productLead: 'Peenike tila ühtlaseks ja aeglaseks valamiseks. Teras, 0,8 l, 360° alus.',
    points: ['Tasuta tarne alates 40 €', '30 päeva tagastusõigus', 'Laos, saadame homme'],
    addToCart: 'Lisa ostukorvi', added: 'Lisatud', inStock: 'Laos',
    cartTitle: 'Sinu ostukorv', cartEmpty: 'Ostukorv on tühi.', backToShop: 'Jätka ostlemist',
    remove: 'Eemalda', subtotal: 'Vahesumma', total: 'Kokku', shipping: 'Tarne', free: 'Tasuta',
    toCheckout: 'Vormista tellimus', checkoutTitle: 'Tellimuse vormistamine', contact: 'Tarneandmed',
    name: 'Nimi', email: 'E-post', address: 'Aadress', city: 'Linn',
    payment: 'Tasumine kättesaamisel (demo, raha ei võeta)', placeOrder: 'Esita tellimus', summary: 'Sinu tellimus',
    thanksTitle: 'Aitäh tellimuse eest!', orderNo: 'Tellimuse number', thanksLine: 'Saadame e-kirja, kui pakk teele läheb.',
    noThanks: 'Ei, aitäh', declined: 'Selge, rohkem me seda ei näita.', add: 'Lisa', inCart: 'Ostukorvis',
    starterHead: 'Tee komplekt täielikuks', starterBody: 'Kannule kulub ära tilguti: võta see koos 100 filtriga ja keeda esimene tass kohe.',
    popupTitle: 'Veel üks asi enne maksmist?', popupAdd: 'Lisa ja telli', popupSkip: 'Ei, jätka tellimusega',
    afterHead: 'Lisa samasse pakki', afterBody: 'Tuleb samas kastis, lisatasuta tarnega.', afterAdd: 'Lisa tellimusele', afterDone: 'Lisatud sinu tellimusele.',
    careHead: 'Kaitse oma kannu', careSingle: '2 aastat kaitset ja katlakivieemaldaja.',
    tiers: { 'care-1': ['Basic', '1 aasta kaitset'], 'care-2': ['Standard', '2 aastat + katlakivieemaldaja'], 'care-3': ['Premium', '3 aastat, ka juhuslike vigastuste korral'] },
    kitTiers: { dripper: ['Tilguti', 'Ainult tilguti'], 'starter-set': ['Alustuskomplekt', 'Tilguti + 100 filtrit'], 'brew-kit': ['Kohvikomplekt', 'Tilguti, 100 filtrit ja 250 g ube'] },
    popular: 'Kõige populaarsem', choose: 'Vali',
    beansHead: 'Värske kohv esimeseks hommikuks', beansBody: '15% soodsam, kui lisad selle kohe.',
    endsIn: 'Pakkumine lõpeb', left: 'Selle hinnaga ainult {n} tk', ended: 'Pakkumine on läbi; kehtib tavahind.',
    reviews: '{r} / 5, {n} arvustust', demoNote: 'Upshoti näidispood. Pakkumised valib upshotd.'
  },
  se: {
    lang: 'sv', dir: 'ltr', locale: 'sv-SE', currency: 'SEK', regionName: 'Sverige',
    tagline: 'Prylar för filterkaffe och nyrostade bönor',
    navShop: 'Butik', navCart: 'Varukorg', region: 'Region',
    products: {
      dripper: 'Dripper i porslin', 'brew-kit': 'Kaffepaket: dripper, 100 filter och 250 g bönor',
      kettle: 'Pour-Over-kanna', 'kettle-pro': 'Kettle Pro', 'starter-set': 'Startpaket: dripper + 100 filter',
      'care-1': 'Skydd Basic', 'care-2': 'Skydd Standard', 'care-3': 'Skydd Premium', beans: 'Single origin-bönor 500 g'
    },
    productLead: 'Smal pip för en jämn och lugn stråle. Stål, 0,8 liter, 360°-bas.',
    points: ['Fri frakt över 449 kr', '30 dagars öppet köp', 'I lager, skickas i morgon'],
    addToCart: 'Lägg i varukorgen', added: 'Tillagd', inStock: 'I lager',
    cartTitle: 'Din varukorg', cartEmpty: 'Varukorgen är tom.', backToShop: 'Fortsätt handla',
    remove: 'Ta bort', subtotal: 'Delsumma', total: 'Totalt', shipping: 'Frakt', free: 'Fri',
    toCheckout: 'Till kassan', checkoutTitle: 'Kassa', contact: 'Leveransuppgifter',
    name: 'Namn', email: 'E-post', address: 'Adress', city: 'Ort',
    payment: 'Betala vid leverans (demo, inget dras)', placeOrder: 'Lägg beställningen', summary: 'Din beställning',
    thanksTitle: 'Tack för din beställning!', orderNo: 'Ordernummer', thanksLine: 'Vi mejlar när paketet är på väg.',
    noThanks: 'Nej tack', declined: 'Okej, vi visar inte det här igen.', add: 'Lägg till', inCart: 'I varukorgen',
    starterHead: 'Gör paketet komplett', starterBody: 'Kannan behöver en dripper: ta den med 100 filter och brygg din första kopp direkt.',
    popupTitle: 'En sak till innan du betalar?', popupAdd: 'Lägg till och beställ', popupSkip: 'Nej, fortsätt till beställningen',
    afterHead: 'Lägg till i samma paket', afterBody: 'Kommer i samma kartong, utan extra frakt.', afterAdd: 'Lägg till i beställningen', afterDone: 'Tillagt i din beställning.',
    careHead: 'Skydda din kanna', careSingle: '2 års skydd och avkalkningsmedel.',
    tiers: { 'care-1': ['Basic', '1 års skydd'], 'care-2': ['Standard', '2 år + avkalkning'], 'care-3': ['Premium', '3 år, även olyckor'] },
    kitTiers: { dripper: ['Dripper', 'Bara droppern'], 'starter-set': ['Startpaket', 'Dripper + 100 filter'], 'brew-kit': ['Kaffepaket', 'Dripper, 100 filter och 250 g bönor'] },
    popular: 'Vanligaste valet', choose: 'Välj',
    beansHead: 'Färskt kaffe till första morgonen', beansBody: '15 % rabatt om du lägger till nu.',
    endsIn: 'Erbjudandet slutar om', left: 'Bara {n} kvar till det här priset', ended: 'Erbjudandet är slut; ordinarie pris gäller.',
    reviews: '{r} / 5 från {n} omdömen', demoNote: 'Upshots demobutik. Erbjudandena väljs av upshotd.'
  }
}

// The descaler add-on of the checkout-wording experiment (a bandit over six
// wordings; the wordings themselves live in its payloads): its name and
// price per region, added to the tables above so the cart and the order
// list it like any other product.
export const DESCALER = {
  name: {
    gr: 'Ταμπλέτες αφαλάτωσης (12)',
    pl: 'Tabletki do odkamieniania (12 szt.)',
    mena: 'أقراص إزالة الترسبات (12)',
    ee: 'Katlakivitabletid (12 tk)',
    se: 'Avkalkningstabletter (12 st)'
  },
  price: { gr: 7, pl: 29, mena: 29, ee: 7, se: 79 }
}
for (const r of REGIONS) {
  PRICES[r].descaler = DESCALER.price[r]
  T[r].products.descaler = DESCALER.name[r]
}
